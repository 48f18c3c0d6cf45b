import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseHealthChecks } from '../../src/deploy/settings.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { deployTo, snapshot, twoGenerations } from '../support/hosts/deploy.js';

describe('deploy over ssh: reboot', () => {
  let fleet: SimulatedFleet;
  let v1: string;
  let v2: string;
  const ready = (async () => {
    ({ v1, v2 } = await twoGenerations());
    fleet = await startHosts(2, { system: v1 });
  })();
  const host = async (i: number) => {
    await ready;
    return fleet.hosts[i] as SimulatedHost;
  };

  beforeAll(async () => {
    await ready;
  });
  afterAll(async () => {
    await ready.catch(() => undefined);
    await fleet?.stop();
  });

  it.concurrent('boots the new system and comes back with a new boot id running it', async () => {
    const h = await host(0);
    const bootId = await h.bootId();
    const report = await deployTo(fleet, [h], v2, { settings: { action: 'reboot' } });

    expect(report.byHost[h.name]).toMatchObject({ outcome: 'succeeded', before: v1, after: v2, booted: v2, generation: 2 });
    expect(report.byHost[h.name]?.message).toContain('rebooted into');
    expect(await h.bootId()).not.toBe(bootId);
    expect(await snapshot(h)).toMatchObject({ current: v2, booted: v2, profile: v2, bootDefault: v2 });
  });

  it.concurrent('reboots back into the previous system when the new one fails its health checks', async () => {
    const h = await host(1);
    const bootId = await h.bootId();
    // A check only the old generation passes (the site config names its variant).
    const healthChecks = parseHealthChecks('grep -q variant=1 /run/current-system/etc/site.conf');
    const report = await deployTo(fleet, [h], v2, { settings: { action: 'reboot', healthChecks } });

    const result = report.byHost[h.name];
    expect(result).toMatchObject({ outcome: 'rolled-back', before: v1, after: v1, booted: v1, generation: 3 });
    expect(result?.message).toContain('health check "grep -q variant=1 /run/current-system/etc/site.conf" exited with 1');
    expect(result?.message).toContain('rebooted back into');
    expect(report.log.filter((l) => l.includes('back up (boot id'))).toHaveLength(2);
    expect(await h.bootId()).not.toBe(bootId);
    expect(await snapshot(h)).toMatchObject({ current: v1, booted: v1, profile: v1, bootDefault: v1 });
  });
});
