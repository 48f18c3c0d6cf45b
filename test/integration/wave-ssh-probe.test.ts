import { chmod, lutimes, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInventoryText } from '../../src/fleet/inventory.js';
import type { HostStatusReport } from '../../src/fleet/status.js';
import { probeHosts } from '../../src/wave/sources/ssh.js';
import { memoryLog } from '../../src/util/log.js';
import { buildExampleFleet } from '../support/example-fleet.js';

/**
 * Hosts stand in as mount namespaces: a fake `ssh` runs the probe script with real `sh`,
 * `readlink` and `stat` after bind-mounting the host's own /run and system profiles, built from
 * real example-fleet systems.
 */
describe('ssh probing of NixOS hosts', () => {
  let dir: string;
  let fakeSsh: string;
  let current: string;
  let booted: string;
  const adopted = new Date('2025-03-09T08:30:00Z');
  const now = new Date('2025-03-10T12:00:00Z');

  beforeAll(async () => {
    const [v1, v2] = await Promise.all([buildExampleFleet({ variant: '1', hosts: ['web1'] }), buildExampleFleet({ variant: 'probe-2', hosts: ['web1'] })]);
    booted = v1.toplevels.web1 as string;
    current = v2.toplevels.web1 as string;
    dir = await mkdtemp(join(tmpdir(), 'fleet-probe-'));
    // web1 switched to a new generation with the same kernel; db1 still boots an older kernel.
    await makeHost('web1.example.org', { current, booted, generation: 7 });
    const oldSystem = join(dir, 'old-system');
    await mkdir(oldSystem);
    await symlink('/nix/store/00000000000000000000000000000000-linux-6.1.0/bzImage', join(oldSystem, 'kernel'));
    await makeHost('db1.example.org', { current, booted: oldSystem, generation: 3 });
    fakeSsh = join(dir, 'ssh');
    // Logs its arguments; "down.example.org" is unreachable like a host behind a dead link.
    await writeFile(
      fakeSsh,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$@" > "${dir}/args"`,
        'for last; do :; done',
        'for arg; do if [ "$prev" = "--" ]; then host=$arg; fi; prev=$arg; done',
        'case "$host" in down.example.org) echo "ssh: connect to host down.example.org port 22: No route to host" >&2; exit 255;; esac',
        `exec unshare --mount sh -c 'mount --bind "$0/run" /run && mount --bind "$0/profiles" /nix/var/nix/profiles && exec $1' "${dir}/hosts/$host" "$last"`,
        '',
      ].join('\n'),
    );
    await chmod(fakeSsh, 0o755);
  });

  async function makeHost(name: string, system: { current: string; booted: string; generation: number }): Promise<void> {
    const run = join(dir, 'hosts', name, 'run');
    const profiles = join(dir, 'hosts', name, 'profiles');
    await mkdir(run, { recursive: true });
    await mkdir(profiles, { recursive: true });
    await symlink(system.current, join(run, 'current-system'));
    await symlink(system.booted, join(run, 'booted-system'));
    await lutimes(join(run, 'current-system'), adopted, adopted);
    await symlink(system.current, join(profiles, `system-${system.generation}-link`));
    await symlink(`system-${system.generation}-link`, join(profiles, 'system'));
  }

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const inventory = parseInventoryText(
    `environments: { production: {} }
hosts:
  web1: { environment: production, deploy: { method: ssh, host: web1.example.org, port: 2222, user: deploy, jump: relay.example.org } }
  web2: { environment: production, deploy: { method: ssh, host: down.example.org } }
  db1: { environment: production, deploy: { method: ssh, host: db1.example.org } }
  clinic: { environment: production, deploy: { method: pull } }
`,
    'fleet.yaml',
  );

  it('reads the current and booted systems, generation, adoption time and reboot need', async () => {
    const log = memoryLog();
    const probedAt = Date.now();
    const { reports, problems, observations } = await probeHosts(Object.values(inventory.hosts), { clock: { now: () => now }, log, ssh: fakeSsh });
    expect(await readlink(join(booted, 'kernel'))).toBe(await readlink(join(current, 'kernel')));
    expect(reports.get('web1')).toEqual({
      host: 'web1',
      system: current,
      booted,
      profileGeneration: 7,
      failedUnits: [],
      needsReboot: false,
      lastError: null,
      // dated by the host's clock (this machine's), received at the runner's (the test's `now`)
      reportedAt: expect.any(Date),
      adoptedAt: adopted,
      manifestSequence: null,
      agentVersion: 'ssh-probe',
      desired: null,
    });
    const hostClock = (reports.get('web1') as HostStatusReport).reportedAt.getTime();
    expect(hostClock).toBeGreaterThanOrEqual(Math.floor(probedAt / 1000) * 1000);
    expect(hostClock).toBeLessThanOrEqual(Date.now());
    expect(observations.get('web1')).toEqual({ receivedAt: now });
    expect(problems).toEqual([
      { key: 'clinic', message: 'deployed with pull: ssh probing skips it' },
      { key: 'web2', host: 'web2', message: 'unreachable: ssh: connect to host down.example.org port 22: No route to host' },
    ]);
    expect(reports.has('web2')).toBe(false);
    expect(reports.get('db1')).toMatchObject({ system: current, profileGeneration: 3, needsReboot: true });
    expect(log.lines.some((l) => l.startsWith('warning: web2: probe failed'))).toBe(true);
  });

  it('reaches a host through its port, user and jump host from the inventory', async () => {
    await probeHosts([inventory.hosts.web1 as NonNullable<typeof inventory.hosts.web1>], { clock: { now: () => now }, log: memoryLog(), ssh: fakeSsh, sshArgs: ['-i', '/keys/id'] });
    const args = (await readFile(join(dir, 'args'), 'utf8')).trim().split('\n');
    expect(args).toEqual(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-p', '2222', '-J', 'relay.example.org', '-i', '/keys/id', '-l', 'deploy', '--', 'web1.example.org', 'sh -s probe']);
  });
});
