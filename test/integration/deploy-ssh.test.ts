import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';
import { deployTo, snapshot, twoGenerations } from '../support/hosts/deploy.js';

describe('deploy over ssh: 10 hosts', () => {
  let fleet: SimulatedFleet;
  let v1: string;
  let v2: string;

  beforeAll(async () => {
    ({ v1, v2 } = await twoGenerations());
    fleet = await startHosts(10, { system: v1 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('switches every host: canary, then batches, each host copied, activated, checked and confirmed', async () => {
    const report = await deployTo(fleet, fleet.hosts, v2, { rollout: { maxConcurrency: { count: 5 } } });

    expect(report.ok).toBe(true);
    expect(report.counts.succeeded).toBe(10);
    expect(report.results.map((r) => r.batch)).toEqual([1, 2, 2, 2, 2, 2, 3, 3, 3, 3]);
    for (const host of fleet.hosts) {
      expect(await snapshot(host)).toMatchObject({ current: v2, profile: v2, generation: 2, bootDefault: v2, booted: v1 });
      expect(await host.hasPath(v2)).toBe(true);
      expect(report.byHost[host.name]).toMatchObject({ outcome: 'succeeded', before: v1, after: v2, booted: v1, generation: 2, target: v2 });
    }
    expect(report.log).toContain('batch 1/3 (canary): host-1');
    expect(report.log.filter((l) => l.endsWith('confirmed over a new connection'))).toHaveLength(10);
  });

  it('does nothing to hosts already on the system', async () => {
    const report = await deployTo(fleet, fleet.hosts.slice(0, 3), v2);
    expect(report.counts.succeeded).toBe(3);
    for (const host of fleet.hosts.slice(0, 3)) {
      expect(report.byHost[host.name]?.message).toMatch(/^already on .*: nothing to do$/);
      expect(await host.profileGeneration()).toBe(2);
    }
  });

  it('dry-activate copies the closure but touches no system state', async () => {
    const host = fleet.hosts[9]!;
    const { v2: v3 } = await twoGenerations('web2');
    const before = await snapshot(host);
    const report = await deployTo(fleet, [host], v3, { settings: { action: 'dry-activate' } });

    expect(report.byHost[host.name]).toMatchObject({ outcome: 'succeeded', before: v2, after: v2 });
    expect(report.byHost[host.name]?.message).toContain(`would activate ${v3}`);
    expect(await snapshot(host)).toEqual(before);
    expect(await host.hasPath(v3)).toBe(true);
  });

  it('test activates without touching the profile or the boot loader; boot does the opposite', async () => {
    const [tested, booted] = [fleet.hosts[7]!, fleet.hosts[8]!];
    const report = await deployTo(fleet, [tested], v1, { settings: { action: 'test' } });
    expect(report.byHost[tested.name]).toMatchObject({ outcome: 'succeeded', after: v1, generation: 2 });
    expect(await snapshot(tested)).toMatchObject({ current: v1, profile: v2, generation: 2, bootDefault: v2 });

    const bootReport = await deployTo(fleet, [booted], v1, { settings: { action: 'boot' } });
    expect(bootReport.byHost[booted.name]).toMatchObject({ outcome: 'succeeded', after: v2, generation: 3 });
    expect(await snapshot(booted)).toMatchObject({ current: v2, profile: v1, generation: 3, bootDefault: v1 });
  });
});
