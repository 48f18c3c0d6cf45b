import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { PullTransport } from '../../src/deploy/pull/index.js';
import type { Host } from '../../src/fleet/types.js';
import { executeRollout, planRollout } from '../../src/rollout/index.js';
import { memoryLog } from '../../src/util/log.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { startNginxCache, type NginxCacheHandle } from '../support/servers/index.js';
import { generateKeyPair, pushClosures, runAgent, type AgentConfig, type KeyPair } from './deploy-pull-fixture.js';

/**
 * The whole pull path: the rollout plan drives PullTransport (publish, then wait for reports),
 * while each host's agent runs on its own "timer". Manifests and reports live in a file://
 * store (an NFS export, say) that agents read with curl and Nix; closures come from nginx.
 */
describe('pull rollout: canary, batches and waiting on real agents', () => {
  const NAMES = ['pull-1', 'pull-2', 'pull-3'];
  let fleet: SimulatedFleet;
  let cache: NginxCacheHandle;
  let cacheKey: KeyPair;
  let manifestSecret: string;
  let manifestPublic: string;
  let storeDir: string;
  let store: OpenedStore;
  let v1: string;
  let v2: string;

  const inventoryHost = (h: SimulatedHost): Host => h.inventoryHost({ environment: 'production', wave: 'first', deploy: { method: 'pull' } });

  /** Runs every host's agent over and over (one run at a time per host) until stopped: systemd timers in fast motion. */
  function agentTimers(): { stop(): Promise<void>; runs: Map<string, number> } {
    let running = true;
    const runs = new Map<string, number>();
    const loops = fleet.hosts.map(async (h) => {
      const config: AgentConfig = {
        host: h.name,
        environment: 'production',
        storeUrl: `file://${storeDir}`,
        manifestKeys: manifestPublic,
        substituters: cache.url,
        trustedPublicKeys: cacheKey.public,
      };
      while (running) {
        await runAgent(h, config);
        runs.set(h.name, (runs.get(h.name) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    return {
      runs,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  async function rollout() {
    const log = memoryLog();
    const transport = await PullTransport.open({
      store,
      signingKey: parseSigningKey(manifestSecret),
      settings: { action: 'switch', rollback: 'auto', healthChecks: [] },
      log,
      commit: 'c0ffee0123456789',
      waitMs: 90_000,
      pollIntervalMs: 250,
    });
    const plan = planRollout(fleet.hosts.map(inventoryHost), { canary: 1, maxConcurrency: { count: 2 } });
    const report = await executeRollout(plan, (host, _batch, signal) => transport.deployHost({ host, system: v2 }, signal), { log });
    await transport.close();
    return { report, log };
  }

  beforeAll(async () => {
    const [a, b] = await Promise.all([buildExampleFleet({ variant: '1', hosts: ['monitor'] }), buildExampleFleet({ variant: 'rollout-2', hosts: ['monitor'] })]);
    v1 = a.toplevels.monitor as string;
    v2 = b.toplevels.monitor as string;
    cacheKey = await generateKeyPair('cache-test-1');
    const manifestKey = await generateKeyPair('fleet-manifest-test-1');
    manifestSecret = manifestKey.secret;
    manifestPublic = manifestKey.public;
    storeDir = await mkdtemp(join(tmpdir(), 'fleet-pull-store-'));
    store = openStore(`file://${storeDir}`);
    [cache, fleet] = await Promise.all([startNginxCache(), startHosts(NAMES.length, { system: v1, names: (i) => NAMES[i] as string })]);
    await pushClosures(cache.url, cacheKey, [v2]);
  });

  afterAll(async () => {
    await store?.close();
    await Promise.all([fleet?.stop(), cache?.stop()]);
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
    await cleanupExampleFleets();
  });

  it('stops after a canary that rolled back: later hosts get no manifest; the next rollout converges everywhere', async () => {
    const [first, second, third] = fleet.hosts as [SimulatedHost, SimulatedHost, SimulatedHost];
    // The agents have been running before any manifest: their reports give the deploy its "before".
    const idle = agentTimers();
    while (fleet.hosts.some((h) => !idle.runs.get(h.name))) await new Promise((resolve) => setTimeout(resolve, 100));
    await idle.stop();
    expect(await store.get('fleet/status/pull-1.json')).toBeDefined();

    await first.setFault('fail');
    const timers = agentTimers();
    let failedRun;
    try {
      failedRun = await rollout();
    } finally {
      await timers.stop();
    }
    const { report } = failedRun;
    expect(report.results.map((r) => [r.host, r.outcome])).toEqual([
      ['pull-1', 'rolled-back'],
      ['pull-2', 'skipped'],
      ['pull-3', 'skipped'],
    ]);
    expect(report.results[0]).toMatchObject({ before: v1, after: v1, target: v2 });
    expect(report.results[0]?.message).toBe(`manifest 1: rolled back to ${v1}: switch-to-configuration switch exited with 1`);
    expect(report.stopped?.reason).toMatch(/canary batch failed/);
    expect(await store.has('fleet/production/pull-2.json')).toBe(false);
    expect(await first.currentSystem()).toBe(v1);
    expect(await second.currentSystem()).toBe(v1);

    const timers2 = agentTimers();
    let goodRun;
    try {
      goodRun = await rollout();
    } finally {
      await timers2.stop();
    }
    expect(goodRun.report.results.map((r) => [r.host, r.outcome, r.after, r.batch])).toEqual([
      ['pull-1', 'succeeded', v2, 1],
      ['pull-2', 'succeeded', v2, 2],
      ['pull-3', 'succeeded', v2, 2],
    ]);
    expect(goodRun.report.results[0]?.message).toBe('manifest 2: runs the new system');
    for (const h of [first, second, third]) expect(await h.currentSystem()).toBe(v2);
  });
});
