import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseHealthChecks } from '../../src/deploy/settings.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { deployTo, snapshot, twoGenerations } from '../support/hosts/deploy.js';

// Every scenario has a host of its own, so they run at the same time.
describe('deploy over ssh: failures and rollback', () => {
  let fleet: SimulatedFleet;
  let v1: string;
  let v2: string;
  const ready = (async () => {
    ({ v1, v2 } = await twoGenerations());
    fleet = await startHosts(9, { system: v1 });
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

  /** The host runs the old system again, through its profile (a new generation) and boot loader. */
  async function expectRestored(h: SimulatedHost) {
    expect(await snapshot(h)).toMatchObject({ current: v1, profile: v1, generation: 3, bootDefault: v1 });
    expect(await h.failedUnits()).toEqual([]);
  }

  it.concurrent('rolls back to the exact previous system when a health check fails', async () => {
    const h = await host(0);
    await h.setFault('health-fail');
    const report = await deployTo(fleet, [h], v2, { settings: { healthChecks: parseHealthChecks('systemctl is-active app.service') } });
    const result = report.byHost[h.name];
    expect(result).toMatchObject({ outcome: 'rolled-back', before: v1, after: v1, target: v2, generation: 3 });
    expect(result?.message).toContain('health check "systemctl is-active app.service" exited with 3');
    expect(result?.message).toContain('rolled back to');
    await expectRestored(h);
  });

  it.concurrent('rolls back when the activation fails', async () => {
    const h = await host(1);
    await h.setFault('fail');
    const report = await deployTo(fleet, [h], v2);
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'rolled-back', after: v1 });
    expect(report.byHost[h.name]?.message).toMatch(/switch-to-configuration switch exited with 1: .*the activation script failed/);
    await expectRestored(h);
  });

  it.concurrent('stops an activation that hangs at the time limit and rolls back', async () => {
    const h = await host(2);
    await h.setFault('hang');
    const report = await deployTo(fleet, [h], v2, { settings: { activationTimeoutMs: 3000 } });
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'rolled-back', after: v1 });
    expect(report.byHost[h.name]?.message).toContain('did not finish within 3.0s');
    await expectRestored(h);
  });

  it.concurrent('gets a host back that the new system cut off: it rolls itself back after confirm-timeout', async () => {
    const h = await host(3);
    await h.setFault('drop-ssh');
    const report = await deployTo(fleet, [h], v2, { settings: { confirmTimeoutMs: 5000 } });
    const result = report.byHost[h.name];
    expect(result).toMatchObject({ outcome: 'rolled-back', before: v1, after: v1 });
    expect(result?.message).toContain('lost SSH after the activation');
    expect(result?.message).toContain('the host rolled itself back after confirm-timeout 5.0s');
    expect(report.log.some((l) => l.includes('lost contact'))).toBe(true);
    await expectRestored(h);
    expect((await h.ssh(['true'])).code).toBe(0);
  });

  it.concurrent('keeps a degraded system (exit 4) and says so', async () => {
    const h = await host(4);
    await h.setFault('degraded');
    const report = await deployTo(fleet, [h], v2);
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'degraded', after: v2, generation: 2 });
    expect(report.byHost[h.name]?.message).toContain('exited with 4 (some units failed)');
    expect(await h.currentSystem()).toBe(v2);
  });

  it.concurrent('marks a host degraded when systemd reports failed units after a clean activation', async () => {
    const h = await host(5);
    await h.setFault('health-fail');
    const report = await deployTo(fleet, [h], v2);
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'degraded', after: v2 });
    expect(report.byHost[h.name]?.message).toContain('systemd reports the system degraded');
  });

  it.concurrent('reports a needed reboot (exit 100) without failing', async () => {
    const h = await host(6);
    await h.setFault('needs-reboot');
    const report = await deployTo(fleet, [h], v2);
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'succeeded', needsReboot: true, after: v2 });
    expect(report.byHost[h.name]?.message).toContain('a reboot is needed to finish');
  });

  it.concurrent('rolls back when a health check outlasts its time limit', async () => {
    const h = await host(7);
    const report = await deployTo(fleet, [h], v2, { settings: { healthChecks: parseHealthChecks('[1s] sleep 30') } });
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'rolled-back', after: v1 });
    expect(report.byHost[h.name]?.message).toContain('health check "sleep 30" timed out after 1.0s');
    await expectRestored(h);
  });

  it.concurrent('leaves a failed activation in place with rollback off', async () => {
    const h = await host(8);
    await h.setFault('fail');
    const report = await deployTo(fleet, [h], v2, { settings: { rollback: 'off' } });
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'failed', after: v2 });
    expect(await snapshot(h)).toMatchObject({ current: v2, profile: v2, generation: 2 });
  });
});
