/**
 * Simulated NixOS hosts for deploy tests: each host is its own sshd on a loopback port, running
 * inside its own mount and PID namespaces with its own /nix (store + db + profiles), /run,
 * /boot, /etc/ssh, /etc/nix, /root (an empty home) and boot id. Deploys reach it exactly as they reach a real host: ssh, `nix copy
 * --to ssh://…` (which runs `nix-store --serve` there), the host's switch-to-configuration.
 *
 * The harness reads a host's state straight from its directory (the namespaces' bind sources),
 * so assertions never depend on the ssh path under test.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Host } from '../../../src/fleet/types.js';
import { remoteCommand } from '../../../src/deploy/shell-quote.js';
import { mapConcurrent, sleep } from '../../../src/util/async.js';
import { exec, spawnProcess, type ExecResult } from '../../../src/util/exec.js';
import { buildExampleFleet, EXAMPLE_FLEET_HOSTS } from '../example-fleet.js';
import { offlineNixEnv } from '../nix.js';

const SUPPORT_DIR = fileURLToPath(new URL('.', import.meta.url));
const HOST_FILES_DIR = fileURLToPath(new URL('../../../host', import.meta.url));

/** Faults switch-to-configuration acts on at its next switch/boot/test (see examples/offline-fleet/lib/switch-to-configuration.sh). */
export type Fault = 'fail' | 'degraded' | 'needs-reboot' | 'hang' | 'drop-ssh' | 'health-fail';

export interface StartHostsOptions {
  /** The initial system: one for all, one per host, or per index. Default: the example fleet (variant "1"), host attributes in turn. */
  system?: string | readonly string[] | ((index: number) => string);
  /** Hosts look like systemd machines (/run/systemd/system, simulated systemctl and systemd-run); default true. */
  systemd?: boolean;
  /** Host names; default `host-1` … `host-N`. */
  names?: (index: number) => string;
}

export interface SimulatedHost {
  name: string;
  port: number;
  /** The host's directory: nix/, run/, boot/, etc/ (its /etc/ssh), etc-nix/, home/ (its /root), boot_id, sshd.log. */
  root: string;
  /** The system it was seeded with. */
  initialSystem: string;
  /** An inventory entry reaching this host over ssh. */
  inventoryHost(overrides?: Partial<Host>): Host;
  /** Runs a command on the host as root over ssh (the harness's own connection). */
  ssh(argv: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Runs a command inside the host's namespaces without ssh, as at its console. */
  console(argv: readonly string[]): Promise<ExecResult>;
  /** Copies a closure into the host's store the way a deployer does (`nix copy --to ssh://…`). */
  copy(storePath: string): Promise<void>;
  /**
   * Installs this checkout's host/ folder (the agent, the AWS scripts and their shell library) on the
   * host, as a NixOS module or user data would, and returns where it is: the checkout itself may lie
   * where a host cannot see it (under /root, which each host has its own of).
   */
  installHostFiles(): Promise<string>;
  /** NIX_SSHOPTS that reach this host as `ssh://root@127.0.0.1` (key, known_hosts, port). */
  readonly nixSshOptions: string;
  currentSystem(): Promise<string | undefined>;
  bootedSystem(): Promise<string | undefined>;
  /** The store path of /nix/var/nix/profiles/system. */
  profileSystem(): Promise<string | undefined>;
  profileGeneration(): Promise<number | undefined>;
  /** The boot loader's default entry. */
  bootDefault(): Promise<string | undefined>;
  bootId(): Promise<string>;
  /** The store path is in the host's store. */
  hasPath(storePath: string): Promise<boolean>;
  /** Arms a one-shot fault for the next activation; undefined clears it. */
  setFault(fault: Fault | undefined): Promise<void>;
  /** Units the simulation marks failed. */
  failedUnits(): Promise<string[]>;
  /** Power off: every process of the host dies, connections are refused. */
  stop(): Promise<void>;
  /** Power on: a fresh /run, a new boot id, the boot loader's default system. */
  start(): Promise<void>;
  readonly running: boolean;
}

export interface SimulatedFleet {
  hosts: SimulatedHost[];
  /** The deploy key (OpenSSH format), for the deployer to hold in memory. */
  privateKey: string;
  /** known_hosts lines for every host. */
  knownHosts: string;
  /** Inventory entries for every host. */
  inventoryHosts(): Host[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcessWithoutNullStreams>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `n` simulated hosts, each seeded with an initial system (in its store, its profile, booted and current). */
export async function startHosts(n: number, options: StartHostsOptions = {}): Promise<SimulatedFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-hosts-'));
  const systemOf = await initialSystems(options.system);
  const clientKey = join(dir, 'id_ed25519');
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-deploy', '-f', clientKey]);
  const publicKey = await readFile(`${clientKey}.pub`, 'utf8');
  const knownHostsFile = join(dir, 'known_hosts');
  const hosts: HostProcess[] = [];
  try {
    await mapConcurrent(
      Array.from({ length: n }, (_, i) => i),
      4,
      async (i) => {
        const name = options.names?.(i) ?? `host-${i + 1}`;
        const host = new HostProcess(name, join(dir, name), systemOf(i), options.systemd ?? true, clientKey, knownHostsFile);
        hosts[i] = host;
        await host.create(publicKey);
        await host.start();
      },
    );
  } catch (error) {
    await Promise.all(hosts.filter(Boolean).map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const knownHosts = (await Promise.all(hosts.map((h) => h.knownHostsLine()))).join('');
  await writeFile(knownHostsFile, knownHosts);
  return {
    hosts,
    privateKey: await readFile(clientKey, 'utf8'),
    knownHosts,
    inventoryHosts: () => hosts.map((h) => h.inventoryHost()),
    stop: async () => {
      await Promise.all(hosts.map((h) => h.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function initialSystems(option: StartHostsOptions['system']): Promise<(index: number) => string> {
  if (typeof option === 'string') return () => option;
  if (typeof option === 'function') return option;
  if (option) return (i) => option[i % option.length] as string;
  const { toplevels } = await buildExampleFleet({ variant: '1' });
  return (i) => toplevels[EXAMPLE_FLEET_HOSTS[i % EXAMPLE_FLEET_HOSTS.length] as string] as string;
}

class HostProcess implements SimulatedHost {
  readonly name: string;
  readonly root: string;
  readonly initialSystem: string;
  port = 0;
  private readonly systemd: boolean;
  private readonly clientKey: string;
  private readonly knownHostsFile: string;
  private child: ChildProcessWithoutNullStreams | undefined;
  private output = '';

  constructor(name: string, root: string, initialSystem: string, systemd: boolean, clientKey: string, knownHostsFile: string) {
    this.name = name;
    this.root = root;
    this.initialSystem = initialSystem;
    this.systemd = systemd;
    this.clientKey = clientKey;
    this.knownHostsFile = knownHostsFile;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Lays out the host's directory and seeds its store, profile and boot loader with the initial system. */
  async create(publicKey: string): Promise<void> {
    const r = this.root;
    for (const sub of ['nix/var/nix/profiles', 'run', 'boot', 'etc', 'etc-nix', 'sbin', 'home']) await mkdir(join(r, sub), { recursive: true });
    await writeFile(join(r, 'boot_id'), `${randomUUID()}\n`);
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', this.name, '-f', join(r, 'etc/ssh_host_ed25519_key')]);
    await writeFile(join(r, 'etc/authorized_keys'), publicKey);
    // The host's own nix.conf: offline, so no default substituter (cache.nixos.org) to time out on.
    await writeFile(join(r, 'etc-nix/nix.conf'), 'sandbox = false\nsubstituters =\nexperimental-features = nix-command\n');
    await this.install('authorized-keys-command.sh', 'etc/authorized-keys-command');
    await this.install('systemctl.sh', 'sbin/systemctl');
    await this.install('systemd-run.sh', 'sbin/systemd-run');
    // A chroot store: `nix copy --to DIR` fills DIR/nix/store and DIR/nix/var/nix/db.
    await exec('nix', ['copy', '--no-check-sigs', '--to', r, this.initialSystem], { env: offlineNixEnv() });
    await symlink(this.initialSystem, join(r, 'nix/var/nix/profiles/system-1-link'));
    await symlink('system-1-link', join(r, 'nix/var/nix/profiles/system'));
    await writeFile(join(r, 'boot/default-system'), `${this.initialSystem}\n`);
  }

  private async install(source: string, target: string): Promise<void> {
    await copyFile(join(SUPPORT_DIR, source), join(this.root, target));
    await chmod(join(this.root, target), 0o755);
  }

  async start(): Promise<void> {
    if (this.child) return;
    // A host keeps its port (and so its known_hosts line) across power cycles; only the first start may look for another.
    const firstStart = this.port === 0;
    for (let attempt = 1; ; attempt++) {
      if (firstStart) {
        this.port = await freePort();
        await writeFile(join(this.root, 'etc/sshd_config'), sshdConfig(this.port));
      }
      if (await this.spawn()) return;
      if (!firstStart || attempt >= 5) {
        throw new Error(`simulated host ${this.name} did not start:\n${this.output}${await readFile(join(this.root, 'sshd.log'), 'utf8').catch(() => '')}`);
      }
    }
  }

  /** Starts the namespaces and waits for sshd to listen; false when it exited first (e.g. the port was taken). */
  private async spawn(): Promise<boolean> {
    const child = spawnProcess('unshare', [
      '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '--kill-child',
      '--', '/bin/sh', join(SUPPORT_DIR, 'host-init.sh'), this.root, this.systemd ? '1' : '0',
    ]);
    child.stdin.end();
    child.stdout.on('data', (b: Buffer) => (this.output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (this.output += b.toString('utf8')));
    running.add(child);
    let exited = false;
    const closed = once(child, 'close').then(() => {
      exited = true;
      running.delete(child);
    });
    const deadline = Date.now() + 15_000;
    while (!exited && Date.now() < deadline) {
      if (await listening(this.port)) {
        this.child = child;
        void closed.then(() => {
          if (this.child === child) this.child = undefined;
        });
        return true;
      }
      await sleep(20);
    }
    child.kill('SIGKILL');
    await closed;
    return false;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    // unshare ignores SIGTERM while it waits; SIGKILL takes --kill-child's namespace init (and so every process of the host) with it.
    const closed = once(child, 'close');
    child.kill('SIGKILL');
    await closed;
    const deadline = Date.now() + 5000;
    while ((await listening(this.port)) && Date.now() < deadline) await sleep(20);
  }

  async knownHostsLine(): Promise<string> {
    const key = (await readFile(join(this.root, 'etc/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    return `[127.0.0.1]:${this.port} ${key}\n`;
  }

  inventoryHost(overrides: Partial<Host> = {}): Host {
    return {
      name: this.name,
      attribute: this.name,
      system: 'x86_64-linux',
      environment: 'staging',
      tags: [],
      deploy: { method: 'ssh', host: '127.0.0.1', port: this.port, user: 'root' },
      ...overrides,
    };
  }

  ssh(argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const args = [
      '-F', '/dev/null', '-i', this.clientKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${this.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'LogLevel=ERROR',
      '-p', String(this.port), 'root@127.0.0.1', remoteCommand(argv),
    ];
    return exec('ssh', args, { allowFailure: true, timeoutMs: options.timeoutMs ?? 30_000, input: options.input });
  }

  async console(argv: readonly string[]): Promise<ExecResult> {
    const unshare = this.child?.pid;
    if (!unshare) throw new Error(`${this.name} is not running`);
    // The namespaces' init is unshare's only child.
    const init = (await readFile(`/proc/${unshare}/task/${unshare}/children`, 'utf8')).trim().split(/\s+/)[0];
    if (!init) throw new Error(`${this.name} has no init process`);
    return exec('nsenter', ['-t', init, '--mount', '--pid', '--', ...argv], { allowFailure: true, timeoutMs: 30_000 });
  }

  get nixSshOptions(): string {
    return `-F /dev/null -i ${this.clientKey} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${this.knownHostsFile} -p ${this.port}`;
  }

  async installHostFiles(): Promise<string> {
    const target = join(this.root, 'fleet-host');
    await rm(target, { recursive: true, force: true });
    await cp(HOST_FILES_DIR, target, { recursive: true });
    return target;
  }

  async copy(storePath: string): Promise<void> {
    await exec('nix', ['copy', '--no-check-sigs', '--to', 'ssh://root@127.0.0.1', storePath], { env: { ...offlineNixEnv(), NIX_SSHOPTS: this.nixSshOptions } });
  }

  currentSystem(): Promise<string | undefined> {
    return linkTarget(join(this.root, 'run/current-system'));
  }

  bootedSystem(): Promise<string | undefined> {
    return linkTarget(join(this.root, 'run/booted-system'));
  }

  async profileSystem(): Promise<string | undefined> {
    const generation = await this.profileGeneration();
    return generation === undefined ? undefined : linkTarget(join(this.root, `nix/var/nix/profiles/system-${generation}-link`));
  }

  async profileGeneration(): Promise<number | undefined> {
    const link = await linkTarget(join(this.root, 'nix/var/nix/profiles/system'));
    const match = link && /system-(\d+)-link$/.exec(link);
    return match ? Number(match[1]) : undefined;
  }

  async bootDefault(): Promise<string | undefined> {
    return (await readFile(join(this.root, 'boot/default-system'), 'utf8').catch(() => '')).trim() || undefined;
  }

  async bootId(): Promise<string> {
    return (await readFile(join(this.root, 'boot_id'), 'utf8')).trim();
  }

  async hasPath(storePath: string): Promise<boolean> {
    return stat(join(this.root, storePath)).then(
      () => true,
      () => false,
    );
  }

  async setFault(fault: Fault | undefined): Promise<void> {
    const file = join(this.root, 'run/fleet-sim/fault');
    if (fault === undefined) return rm(file, { force: true });
    await mkdir(join(this.root, 'run/fleet-sim'), { recursive: true });
    await writeFile(file, `${fault}\n`);
  }

  async failedUnits(): Promise<string[]> {
    const text = await readFile(join(this.root, 'run/fleet-sim/failed-units'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean);
  }
}

function sshdConfig(port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PidFile /run/sshd.pid',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'AuthorizedKeysFile none',
    'AuthorizedKeysCommand /etc/ssh/authorized-keys-command',
    'AuthorizedKeysCommandUser root',
    'AllowTcpForwarding yes',
    'MaxStartups 100:30:200',
    'LogLevel INFO',
    '',
  ].join('\n');
}

async function linkTarget(path: string): Promise<string | undefined> {
  return readlink(path).catch(() => undefined);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
