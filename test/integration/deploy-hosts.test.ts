import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sleep } from '../../src/util/async.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { snapshot, twoGenerations } from '../support/hosts/deploy.js';

/** switch-to-configuration of `system`, run on the host as a deployer would. */
const stc = (host: SimulatedHost, system: string, action: string) => host.ssh([`${system}/bin/switch-to-configuration`, action]);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('simulated hosts and the example systems’ switch-to-configuration', () => {
  let fleet: SimulatedFleet;
  let v1: string;
  let v2: string;
  const host = (i: number) => fleet.hosts[i] as SimulatedHost;

  beforeAll(async () => {
    ({ v1, v2 } = await twoGenerations());
    fleet = await startHosts(4, { system: v1 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('gives each host its own store, /run, profile, boot loader and boot id, seeded with the initial system', async () => {
    const a = host(0);
    const b = host(1);
    expect(await snapshot(a)).toMatchObject({ current: v1, booted: v1, profile: v1, generation: 1, bootDefault: v1 });
    expect(await a.bootId()).not.toBe(await b.bootId());
    const seen = await a.ssh(['sh', '-c', 'readlink /run/current-system; cat /proc/sys/kernel/random/boot_id; ls /nix/store | wc -l']);
    const [current, bootId, count] = seen.stdout.trim().split('\n');
    expect(current).toBe(v1);
    expect(bootId).toBe(await a.bootId());
    // Only the seeded closure: the runner's store is not visible.
    expect(Number(count)).toBeLessThan(40);
    expect(await a.hasPath(v2)).toBe(false);
    // The harness reaches every host with the known_hosts it hands out.
    expect(fleet.knownHosts.split('\n').filter(Boolean)).toHaveLength(4);
  });

  it('switch-to-configuration: test moves /run/current-system, boot moves the boot loader, switch both, dry-activate nothing', async () => {
    const h = host(1);
    await h.copy(v2);
    expect(await h.hasPath(v2)).toBe(true);

    expect((await stc(h, v2, 'dry-activate')).stdout).toContain(`would activate ${v2}`);
    expect(await snapshot(h)).toMatchObject({ current: v1, bootDefault: v1 });

    expect((await stc(h, v2, 'test')).code).toBe(0);
    expect(await snapshot(h)).toMatchObject({ current: v2, bootDefault: v1 });

    expect((await stc(h, v1, 'boot')).code).toBe(0);
    expect(await snapshot(h)).toMatchObject({ current: v2, bootDefault: v1 });

    expect((await stc(h, v2, 'switch')).code).toBe(0);
    expect(await snapshot(h)).toMatchObject({ current: v2, bootDefault: v2, booted: v1 });

    const bad = await stc(h, v2, 'restart');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('usage:');
  });

  it('acts on one-shot faults with NixOS exit codes', async () => {
    const h = host(1);
    const cases: [Parameters<SimulatedHost['setFault']>[0], number][] = [['fail', 1], ['degraded', 4], ['needs-reboot', 100], ['health-fail', 0]];
    for (const [fault, code] of cases) {
      await h.setFault(fault);
      expect((await stc(h, v1, 'switch')).code).toBe(code);
      // Consumed: the next activation is clean again.
      expect((await stc(h, v2, 'switch')).code).toBe(0);
      expect(await h.failedUnits()).toEqual([]);
    }
    await h.setFault('degraded');
    await stc(h, v1, 'switch');
    expect(await h.failedUnits()).toEqual(['app.service']);
    expect((await h.ssh(['systemctl', 'is-system-running'])).stdout.trim()).toBe('degraded');
    expect((await h.ssh(['systemctl', 'is-active', 'app.service'])).code).toBe(3);
    await stc(h, v2, 'switch');
    expect((await h.ssh(['systemctl', 'is-system-running', '--wait'])).stdout.trim()).toBe('running');
  });

  it('drop-ssh locks everyone out until another system is activated', async () => {
    const h = host(2);
    await h.copy(v2);
    await h.setFault('drop-ssh');
    // The session running the activation is killed with the others.
    const cut = await h.ssh(['sh', '-c', `"$1/bin/switch-to-configuration" switch; sleep 5; echo survived`, 'sh', v2]);
    expect(cut.code).toBe(255);
    expect(cut.stdout).not.toContain('survived');
    expect(await h.currentSystem()).toBe(v2);
    const refused = await h.ssh(['true']);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('Permission denied');
    // What a rollback does, from the host's console (its own timer in a real deploy).
    expect((await h.console([`${v1}/bin/switch-to-configuration`, 'switch'])).code).toBe(0);
    expect(await h.currentSystem()).toBe(v1);
    expect((await h.ssh(['true'])).code).toBe(0);
  });

  it('reboots on `systemctl reboot`: sessions die, /run starts empty, a new boot id, the boot loader’s system booted', async () => {
    const h = host(3);
    await h.copy(v2);
    expect((await stc(h, v2, 'boot')).code).toBe(0);
    await h.setFault('fail');
    const before = await h.bootId();
    expect((await h.ssh(['systemctl', 'reboot'])).code).toBe(0);
    await waitFor('a new boot id', async () => (await h.bootId()) !== before);
    await waitFor('sshd', async () => (await h.ssh(['true'])).code === 0);
    expect(await snapshot(h)).toMatchObject({ current: v2, booted: v2, bootDefault: v2 });
    const fault = await h.ssh(['sh', '-c', 'ls /run/fleet-sim']);
    expect(fault.stdout).not.toContain('fault');
  });

  it('powers off and on: connections are refused, then it boots again', async () => {
    const h = host(3);
    const before = await h.bootId();
    await h.stop();
    expect(h.running).toBe(false);
    const down = await h.ssh(['true'], { timeoutMs: 10_000 });
    expect(down.code).toBe(255);
    expect(down.stderr).toContain('Connection refused');
    await h.start();
    expect((await h.ssh(['true'])).code).toBe(0);
    expect(await h.bootId()).not.toBe(before);
  });
});
