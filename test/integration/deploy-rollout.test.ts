import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep } from '../../src/util/async.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { deployTo, snapshot, twoGenerations } from '../support/hosts/deploy.js';

// Each scenario has hosts of its own (fleet.hosts sliced), so they run at the same time.
describe('deploy over ssh: rollouts', () => {
  let fleet: SimulatedFleet;
  let v1: string;
  let v2: string;
  const ready = (async () => {
    ({ v1, v2 } = await twoGenerations());
    fleet = await startHosts(16, { system: v1 });
  })();
  const hosts = async (from: number, to: number) => {
    await ready;
    return fleet.hosts.slice(from, to);
  };

  beforeAll(async () => {
    await ready;
  });
  afterAll(async () => {
    await ready.catch(() => undefined);
    await fleet?.stop();
  });

  it.concurrent('stops at a failed canary: the others are skipped and untouched', async () => {
    const group = await hosts(0, 4);
    await group[0]!.setFault('fail');
    const report = await deployTo(fleet, group, v2, { rollout: { canary: 1, maxConcurrency: { count: 2 }, maxErrors: { count: 5 } } });

    expect(report.results.map((r) => r.outcome)).toEqual(['rolled-back', 'skipped', 'skipped', 'skipped']);
    expect(report.stopped).toEqual({ afterBatch: 1, reason: 'the canary batch failed (1 of 1 hosts)' });
    expect(await group[0]!.currentSystem()).toBe(v1);
    for (const h of group.slice(1)) {
      expect(await snapshot(h)).toMatchObject({ current: v1, profile: v1, generation: 1 });
      expect(await h.hasPath(v2)).toBe(false);
      expect(report.byHost[h.name]).toMatchObject({ outcome: 'skipped', target: v2 });
    }
    expect(report.results.map((r) => r.batch)).toEqual([1, 2, 2, 3]);
  });

  it.concurrent('goes on within max-errors and skips the rest once failures exceed it', async () => {
    const group = await hosts(4, 10);
    await group[1]!.setFault('fail');
    await group[3]!.setFault('fail');
    // Batches: [0] [1 2] [3 4] [5]; the second failure comes in batch 3.
    const report = await deployTo(fleet, group, v2, { rollout: { canary: 1, maxConcurrency: { count: 2 }, maxErrors: { count: 1 } } });

    expect(report.results.map((r) => r.outcome)).toEqual(['succeeded', 'rolled-back', 'succeeded', 'rolled-back', 'succeeded', 'skipped']);
    expect(report.stopped?.reason).toBe('2 failed hosts exceed max-errors 1 (1)');
    expect(await group[5]!.currentSystem()).toBe(v1);
    expect(await group[4]!.currentSystem()).toBe(v2);
  });

  it.concurrent('reports a host that is down as unreachable while the rest of its batch deploys', async () => {
    const group = await hosts(10, 13);
    await group[1]!.stop();
    const report = await deployTo(fleet, group, v2, { rollout: { canary: 1, maxErrors: { count: 1 } } });

    expect(report.results.map((r) => r.outcome)).toEqual(['succeeded', 'unreachable', 'succeeded']);
    expect(report.byHost[group[1]!.name]?.message).toMatch(/^unreachable: .*Connection refused/);
    expect(await group[2]!.currentSystem()).toBe(v2);
    await group[1]!.start();
    expect(await group[1]!.currentSystem()).toBe(v1);
  });

  it.concurrent('restores the previous system on a host that lost power mid-activation', async () => {
    const [h] = (await hosts(13, 14)) as [SimulatedHost];
    await h.setFault('hang');
    const deploying = deployTo(fleet, [h], v2, { settings: { activationTimeoutMs: 120_000 } });
    // Power goes once switch-to-configuration has made v2 the boot default (and hangs): the host comes back on v2.
    await until(async () => (await activationStates(h)).includes('activating') && (await h.bootDefault()) === v2);
    await h.stop();
    await h.start();
    const report = await deploying;

    const result = report.byHost[h.name];
    expect(result).toMatchObject({ outcome: 'rolled-back', before: v1, after: v1 });
    expect(result?.message).toContain('the host rebooted during the deploy and came back running');
    expect(result?.message).toContain(v2.slice('/nix/store/'.length, '/nix/store/'.length + 8));
    expect(await snapshot(h)).toMatchObject({ current: v1, profile: v1, bootDefault: v1, generation: 3 });
  });

  it.concurrent('refuses a second deployment while another one is activating on the host', async () => {
    const [h] = (await hosts(15, 16)) as [SimulatedHost];
    await h.setFault('hang');
    const first = deployTo(fleet, [h], v2, { settings: { activationTimeoutMs: 4000 } });
    await until(async () => (await activationStates(h)).includes('activating'));
    const second = await deployTo(fleet, [h], v2);

    expect(second.byHost[h.name]?.outcome).toBe('failed');
    expect(second.byHost[h.name]?.message).toMatch(/^another deployment \(.+\) is activating on this host$/);
    expect((await first).byHost[h.name]).toMatchObject({ outcome: 'rolled-back', after: v1 });
  });
});

/** The states of the activations the helper keeps in the host's /run/fleet. */
async function activationStates(h: SimulatedHost): Promise<string[]> {
  const dir = join(h.root, 'run/fleet');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.state'));
  return Promise.all(files.map(async (f) => (await readFile(join(dir, f), 'utf8').catch(() => '')).trim()));
}

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}
