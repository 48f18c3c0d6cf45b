import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PullTransport } from '../../src/deploy/pull/index.js';
import { SshSession } from '../../src/deploy/ssh/session.js';
import type { Host } from '../../src/fleet/types.js';
import { memoryLog } from '../../src/util/log.js';
import type { SimulatedHost } from '../support/hosts/index.js';
import { freePort } from '../support/servers/index.js';
import { installAgentUnit, startAgentBed, type AgentBed } from './deploy-pull-fixture.js';

/**
 * action-deploy's nudge on real hosts: after publishing, PullTransport starts the agent over ssh
 * (`systemctl start --no-block fleet-agent.service`) on the pull hosts the inventory gives an ssh
 * address, so they converge now rather than on their timer. The agent here runs only when started
 * that way; a host without ssh, or one ssh cannot reach, is reported not nudged, and its manifest
 * stays published.
 */
describe('pull deploys: nudging the agents', () => {
  let bed: AgentBed;
  let session: SshSession;

  /** The inventory entry of a pull host, reachable over ssh or not. */
  const pullHost = (h: SimulatedHost, ssh: 'reachable' | 'none' | { port: number } | { jump: string }): Host => {
    const entry = h.inventoryHost({ environment: 'production', wave: 'final' });
    const reach = entry.deploy.method === 'ssh' ? entry.deploy : undefined;
    if (!reach) throw new Error('simulated hosts are ssh hosts');
    if (ssh === 'none') return { ...entry, deploy: { method: 'pull' } };
    return { ...entry, deploy: { method: 'pull', ssh: ssh === 'reachable' ? reach : { ...reach, ...ssh } } };
  };
  const accepted = async (h: SimulatedHost) => ((await readFile(join(h.root, 'sshd.log'), 'utf8').catch(() => '')).match(/Accepted publickey/g) ?? []).length;
  const transport = (waitMs: number) =>
    PullTransport.open({
      store: bed.store,
      signingKey: bed.manifestKey,
      settings: { action: 'switch', rollback: 'auto', healthChecks: [] },
      log: memoryLog(),
      waitMs,
      pollIntervalMs: 250,
      nudge: session,
    });
  const started = async (h: SimulatedHost) => (await readFile(join(h.root, 'run', 'fleet-sim', 'started'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 4, prefix: 'nudge' });
    session = await SshSession.open({ privateKey: bed.fleet.privateKey, knownHosts: bed.fleet.knownHosts });
    for (const h of bed.fleet.hosts) await installAgentUnit(h, bed.config(h));
  });

  afterAll(async () => {
    await session?.close();
    await bed?.stop();
  });

  it('starts the agent of a host ssh reaches, which converges at once', async () => {
    const h = bed.host(0);
    const pull = await transport(60_000);
    const result = await pull.deployHost({ host: pullHost(h, 'reachable'), system: bed.v2 });
    expect(result).toMatchObject({ host: h.name, outcome: 'succeeded', after: bed.v2 });
    expect(result.message).toMatch(/^manifest 1; nudged: its agent runs now: /);
    expect(await started(h)).toEqual(['fleet-agent.service']);
    expect(await h.currentSystem()).toBe(bed.v2);
  });

  it('reaches a host behind a relay through its jump host from the inventory, as MSF reaches its clinics', async () => {
    const [relay, h] = [bed.host(0), bed.host(3)];
    const relayed = await accepted(relay);
    const pull = await transport(60_000);
    const result = await pull.deployHost({ host: pullHost(h, { jump: `root@127.0.0.1:${relay.port}` }), system: bed.v2 });
    expect(result).toMatchObject({ host: h.name, outcome: 'succeeded', after: bed.v2 });
    expect(result.message).toMatch(/^manifest 1; nudged: its agent runs now: /);
    expect(await started(h)).toEqual(['fleet-agent.service']);
    expect(await h.currentSystem()).toBe(bed.v2);
    // The nudge's connection went through the relay's sshd.
    expect((await accepted(relay)) - relayed).toBeGreaterThanOrEqual(1);
  });

  it('reports the hosts it could not nudge, publishing their manifests all the same', async () => {
    const [none, unreachable] = [bed.host(1), bed.host(2)];
    const pull = await transport(0);
    const withoutSsh = await pull.deployHost({ host: pullHost(none, 'none'), system: bed.v2 });
    expect(withoutSsh).toMatchObject({ outcome: 'succeeded', message: 'manifest 1 published; not nudged (no deploy.ssh in the inventory) (not waited for)' });
    const refused = await pull.deployHost({ host: pullHost(unreachable, { port: await freePort() }), system: bed.v2 });
    expect(refused.outcome).toBe('succeeded');
    expect(refused.message).toMatch(/^manifest 1 published; not nudged \(.*(refused|connect).*\) \(not waited for\)$/i);
    for (const h of [none, unreachable]) {
      expect(await started(h)).toEqual([]);
      expect(await h.currentSystem()).toBe(bed.v1);
    }
    expect([...pull.publishedManifests().keys()].sort()).toEqual([none.name, unreachable.name].sort());
  });
});
