import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SshSession } from '../../src/deploy/ssh/session.js';
import { exec } from '../../src/util/exec.js';
import { offlineNixEnv } from '../support/nix.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { deployTo, snapshot, twoGenerations } from '../support/hosts/deploy.js';

const accepted = async (h: SimulatedHost) => ((await readFile(join(h.root, 'sshd.log'), 'utf8').catch(() => '')).match(/Accepted publickey/g) ?? []).length;

describe('deploy over ssh: reaching hosts and getting closures there', () => {
  let fleet: SimulatedFleet;
  let plain: SimulatedFleet;
  let v1: string;
  let v2: string;
  let cacheDir: string;
  let publicKey: string;
  const ready = (async () => {
    ({ v1, v2 } = await twoGenerations());
    [fleet, plain] = await Promise.all([startHosts(7, { system: v1 }), startHosts(1, { system: v1, systemd: false })]);
    // A signed file:// binary cache holding v2's closure.
    cacheDir = await mkdtemp(join(tmpdir(), 'fleet-deploy-cache-'));
    await exec('nix-store', ['--generate-binary-cache-key', 'fleet-test-1', join(cacheDir, 'secret'), join(cacheDir, 'public')]);
    publicKey = (await readFile(join(cacheDir, 'public'), 'utf8')).trim();
    await exec('nix', ['copy', '--to', `file://${cacheDir}/cache?secret-key=${cacheDir}/secret`, v2], { env: offlineNixEnv() });
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
    await Promise.all([fleet?.stop(), plain?.stop()]);
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it.concurrent('reaches a host through a jump host (ProxyJump), for ssh and for nix copy alike', async () => {
    const relay = await host(0);
    const target = await host(1);
    const through = await accepted(relay);
    const inventoryHost = target.inventoryHost();
    if (inventoryHost.deploy.method !== 'ssh') throw new Error('expected ssh');
    inventoryHost.deploy.jump = `root@127.0.0.1:${relay.port}`;
    const report = await deployTo(fleet, [target], v2, { hosts: [inventoryHost] });

    expect(report.byHost[target.name]).toMatchObject({ outcome: 'succeeded', after: v2 });
    expect(await target.currentSystem()).toBe(v2);
    // Every connection to the target (helper calls and nix copy) went through the relay.
    expect((await accepted(relay)) - through).toBeGreaterThanOrEqual(4);
    expect(await relay.currentSystem()).toBe(v1);
  });

  it.concurrent('lets hosts substitute the closure from a signed cache instead of copying it', async () => {
    const h = await host(2);
    const report = await deployTo(fleet, [h], v2, { settings: { substituters: [`file://${cacheDir}/cache`], trustedPublicKeys: [publicKey] } });

    expect(report.byHost[h.name]).toMatchObject({ outcome: 'succeeded', after: v2 });
    expect(report.log.some((l) => l.includes('substituted the closure from the cache'))).toBe(true);
    expect(report.log.some((l) => l.includes('copied the closure'))).toBe(false);
  });

  it.concurrent('falls back to copying when the cache does not have the closure', async () => {
    const h = await host(3);
    const empty = await mkdtemp(join(tmpdir(), 'fleet-empty-cache-'));
    try {
      const report = await deployTo(fleet, [h], v2, { settings: { substituters: [`file://${empty}`], trustedPublicKeys: [publicKey] } });
      expect(report.byHost[h.name]).toMatchObject({ outcome: 'succeeded', after: v2 });
      expect(report.log.some((l) => l.includes('could not fetch the system from the cache') && l.includes('copying it from the runner instead'))).toBe(true);
      expect(report.log.some((l) => l.includes('copied the closure'))).toBe(true);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it.concurrent('does not take paths signed by a key the host was not told to trust', async () => {
    const h = await host(6);
    const stranger = `stranger-1:${Buffer.alloc(32, 7).toString('base64')}`;
    const report = await deployTo(fleet, [h], v2, { settings: { substituters: [`file://${cacheDir}/cache`], trustedPublicKeys: [stranger] } });
    expect(report.byHost[h.name]).toMatchObject({ outcome: 'succeeded', after: v2 });
    expect(report.log.some((l) => l.includes('could not fetch the system from the cache'))).toBe(true);
    expect(report.log.some((l) => l.includes('substituted the closure'))).toBe(false);
  });

  it.concurrent('refuses a host whose key does not match known_hosts, without retrying', async () => {
    const h = await host(4);
    const other = (await host(5)).port;
    // The known_hosts line of another host, under this host's address.
    const wrong = fleet.knownHosts
      .split('\n')
      .filter((l) => l.startsWith(`[127.0.0.1]:${other} `))
      .map((l) => l.replace(`:${other} `, `:${h.port} `))
      .join('\n');
    const report = await deployTo(fleet, [h], v2, { ssh: { privateKey: fleet.privateKey, knownHosts: wrong } });

    expect(report.byHost[h.name]?.outcome).toBe('unreachable');
    expect(report.byHost[h.name]?.message).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(report.log.some((l) => l.includes('connection attempt'))).toBe(false);
    expect(await snapshot(h)).toMatchObject({ current: v1, generation: 1 });
  });

  it.concurrent('activates detached with setsid on hosts without systemd', async () => {
    await ready;
    const h = plain.hosts[0] as SimulatedHost;
    // Without systemd nothing reports failed units: a health-fail goes unnoticed unless a check looks.
    await h.setFault('health-fail');
    const report = await deployTo(plain, [h], v2);

    expect(report.byHost[h.name]).toMatchObject({ outcome: 'succeeded', after: v2, generation: 2 });
    expect((await h.ssh(['sh', '-c', 'test -d /run/systemd/system && echo systemd || echo none'])).stdout.trim()).toBe('none');
  });
});

describe('ssh session', () => {
  it('keeps the deploy key in its agent only: not in its directory, not in any file', async () => {
    const { privateKey } = await startKeyOnly();
    const session = await SshSession.open({ privateKey, knownHosts: '[127.0.0.1]:2222 ssh-ed25519 AAAA' });
    try {
      const dir = dirname(session.configFile);
      const names = await readdir(dir);
      expect(names.sort()).toEqual(['agent.sock', 'known_hosts', 'ssh_config']);
      for (const name of ['known_hosts', 'ssh_config']) {
        expect(await readFile(join(dir, name), 'utf8')).not.toContain('PRIVATE KEY');
      }
      const agent = await exec('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: join(dir, 'agent.sock') } });
      expect(agent.stdout).toContain('ED25519');
    } finally {
      await session.close();
    }
  });

  it('names the input when the key is unusable', async () => {
    await expect(SshSession.open({ privateKey: 'not a key' })).rejects.toThrow('ssh-private-key: ssh-add refused the key');
  });
});

/** A fresh OpenSSH key, read into memory (the file is the test's, and removed). */
async function startKeyOnly(): Promise<{ privateKey: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-key-'));
  try {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    return { privateKey: await readFile(join(dir, 'id'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
