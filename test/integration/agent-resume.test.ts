import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readReport } from '../../src/deploy/pull/index.js';
import { sleep } from '../../src/util/async.js';
import type { SimulatedHost } from '../support/hosts/index.js';
import { freePort } from '../support/servers/index.js';
import { agentPaths, narsToFetch, runAgent, startAgentBed, type AgentBed, type AgentConfig, type CachedNar as Nar } from './deploy-pull-fixture.js';

/**
 * Downloads over poor links, on simulated hosts with the real agent: a link cut in the middle of
 * a NAR, and a power loss while a NAR comes in over a slow link. Each run that fails keeps the
 * current system and the bytes it got; the next run asks only for the rest (an HTTP Range the
 * proxy sees) and converges, with every path checked by Nix.
 */
describe('pull agent: resumable downloads', () => {
  let bed: AgentBed;
  let v1: string;
  let v2: string;
  /** The NARs a host seeded with v1 fetches for v2, largest first. */
  let nars: Nar[];

  const host = (i: number) => bed.host(i);
  const config = (h: SimulatedHost, overrides: Partial<AgentConfig> = {}) => bed.config(h, overrides);
  const partial = (h: SimulatedHost) => join(agentPaths(h).state, 'fetch', 'partial');
  const sizeOf = async (file: string) => (await stat(file).catch(() => undefined))?.size ?? 0;
  const narRequests = (from: number, nar: Nar) => bed.proxy.stats.log.slice(from).filter((r) => r.method === 'GET' && r.path.endsWith(`/${nar.url}`));
  /** How much of the host's closure is missing, by its own store. */
  const missing = async (h: SimulatedHost) => (await Promise.all(nars.map((n) => h.hasPath(n.path)))).filter((has) => !has).length;

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 4, prefix: 'resume' });
    ({ v1, v2 } = bed);
    nars = await narsToFetch(bed);
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('a link cut in the middle of a NAR: the run fails and keeps what came; the next asks for the rest only', async () => {
    const h = host(0);
    const big = nars[0] as Nar;
    expect(big.fileSize).toBeGreaterThan(4096);
    const cutAt = Math.floor(big.fileSize / 2);
    await bed.publish(h.name);
    bed.proxy.configure({ failRate: 1, cutAfterBytes: cutAt, path: new RegExp(`/${big.url.replace(/\./g, '\\.')}$`) });
    const cut = await runAgent(h, config(h));
    bed.proxy.configure({});
    expect(cut.code).toBe(1);
    expect(await h.currentSystem()).toBe(v1);
    const kept = join(partial(h), big.url.slice('nar/'.length));
    expect(await sizeOf(kept)).toBe(cutAt);
    const status = await readReport(bed.store, h.name);
    expect(status?.lastError).toContain(`could not fetch ${v2}: `);
    expect(status?.lastError).toContain(`${cutAt} bytes kept, the next run continues from there`);
    expect(status?.system).toBe(v1);
    // The other NARs came whole: the run measured the link.
    expect(status?.download).toMatchObject({ system: v2, paths: 1 });
    expect(status?.fetchBytesPerSecond).toBeGreaterThan(0);

    const from = bed.proxy.stats.log.length;
    const resumed = await runAgent(h, config(h));
    expect(resumed.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    const asked = narRequests(from, big);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.headers.range).toBe(`bytes=${cutAt}-`);
    // Nix checked what was put together, and the staging store is gone.
    expect(await missing(h)).toBe(0);
    await expect(readdir(join(agentPaths(h).state, 'fetch'))).rejects.toThrow();
  });

  it('a power loss while a NAR comes in over a slow link: after the reboot the next run continues the NAR', async () => {
    const h = host(1);
    const big = nars[0] as Nar;
    await bed.publish(h.name);
    bed.proxy.configure({ downloadBytesPerSecond: Math.max(1024, Math.floor(big.fileSize / 20)) });
    const file = join(partial(h), big.url.slice('nar/'.length));
    const run = runAgent(h, config(h)).catch((error: unknown) => error);
    let got = 0;
    for (let i = 0; i < 300 && got === 0; i++) {
      await sleep(100);
      got = await sizeOf(file);
    }
    await h.stop();
    await run;
    bed.proxy.configure({});
    await h.start();
    const had = await sizeOf(file);
    expect(had).toBeGreaterThan(0);
    expect(had).toBeLessThan(big.fileSize);
    expect(await h.currentSystem()).toBe(v1);

    const from = bed.proxy.stats.log.length;
    const after = await runAgent(h, config(h));
    // The lock the dead run left names a pid of the last boot, which may be alive again: not in the way.
    expect(after.stderr).not.toContain('another run');
    expect(after.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    expect(narRequests(from, big).map((r) => r.headers.range)).toEqual([`bytes=${had}-`]);
  });

  it('a store that is down with its mirror up: fetched from the mirror', async () => {
    const h = host(2);
    await bed.publish(h.name);
    const down = `http://127.0.0.1:${await freePort()}`;
    const run = await runAgent(h, config(h, { substituters: `${down} ${bed.proxy.url}` }));
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
  });

  it('refuses a bandwidth limit it cannot read, and changes nothing', async () => {
    const h = host(3);
    await bed.publish(h.name);
    for (const limit of ['fast', '1x2', '0', '10kb', '-5k']) {
      const run = await runAgent(h, config(h), 'run', { FLEET_AGENT_BANDWIDTH_LIMIT: limit });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`FLEET_AGENT_BANDWIDTH_LIMIT "${limit}" is not bytes per second such as 200k or 1m`);
    }
    expect(await h.currentSystem()).toBe(v1);
  });
});
