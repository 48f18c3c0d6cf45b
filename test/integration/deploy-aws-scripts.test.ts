import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocumentOutput } from '../../src/deploy/aws-ssm/index.js';
import { documentScript, type CommandDocument } from '../support/aws/index.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { freePort, startNginxCache, type NginxCacheHandle } from '../support/servers/index.js';
import { generateKeyPair, pushClosures, type KeyPair } from './deploy-pull-fixture.js';

/** host/aws/user-data.sh as installed on the simulated instance. */
const userData = async (h: SimulatedHost) => `${await h.installHostFiles()}/aws/user-data.sh`;
const DOCUMENT = fileURLToPath(new URL('../../host/aws/NixOS-Deploy.json', import.meta.url));

/** An instance metadata service (IMDSv2 only): a PUT for a token, then GETs that carry it. */
async function startImds(tags: () => Record<string, string> | undefined): Promise<{ url: string; requests: string[]; stop(): Promise<void> }> {
  const token = 'AQAEAFNwOGl0c2FUb2tlbg==';
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end();
    const current = tags();
    const path = decodeURIComponent(req.url ?? '');
    if (!current || !path.startsWith('/latest/meta-data/tags/instance')) return void res.writeHead(404).end();
    const key = path.slice('/latest/meta-data/tags/instance/'.length);
    if (path === '/latest/meta-data/tags/instance') return void res.writeHead(200).end(Object.keys(current).join('\n'));
    const value = current[key];
    if (value === undefined) return void res.writeHead(404).end();
    res.writeHead(200).end(value);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function rebootHost(host: SimulatedHost): Promise<void> {
  const bootId = await host.bootId();
  await host.ssh(['systemctl', 'reboot'], { timeoutMs: 10_000 });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await host.bootId()) !== bootId && (await host.ssh(['true'], { timeoutMs: 5000 })).code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${host.name} did not come back`);
}

describe('aws/ scripts on simulated NixOS hosts', () => {
  let fleet: SimulatedFleet;
  let cache: NginxCacheHandle;
  let cacheKey: KeyPair;
  let v1: string;
  let v2: string;
  const NAMES = ['asg-1', 'asg-2', 'asg-3', 'ssm-1', 'ssm-2', 'ssm-3', 'ssm-4', 'ssm-5', 'ssm-6'];
  const host = (name: string) => fleet.hosts.find((h) => h.name === name) as SimulatedHost;

  beforeAll(async () => {
    const [a, b] = await Promise.all([buildExampleFleet({ variant: '1', hosts: ['web1'] }), buildExampleFleet({ variant: 'aws-2', hosts: ['web1'] })]);
    v1 = a.toplevels.web1 as string;
    v2 = b.toplevels.web1 as string;
    cacheKey = await generateKeyPair('cache-test-1');
    [cache, fleet] = await Promise.all([startNginxCache(), startHosts(NAMES.length, { system: v1, names: (i) => NAMES[i] as string })]);
    await pushClosures(cache.url, cacheKey, [v2]);
  });

  afterAll(async () => {
    await Promise.all([fleet?.stop(), cache?.stop()]);
    await cleanupExampleFleets();
  });

  describe('user-data.sh (Auto Scaling instances)', () => {
    /** kexec and `systemctl kexec` cannot run here: stand-ins in /run/wrappers/bin (ahead of /usr/bin in the script's PATH) record them. */
    async function installKexecStandIns(h: SimulatedHost): Promise<string> {
      const bin = join(h.root, 'run/wrappers/bin');
      const record = join(h.root, 'kexec.log');
      await mkdir(bin, { recursive: true });
      await writeFile(join(bin, 'kexec'), `#!/bin/sh\necho "kexec $*" >> ${record}\n`);
      await writeFile(join(bin, 'systemctl'), `#!/bin/sh\necho "systemctl $*" >> ${record}\n`);
      await chmod(join(bin, 'kexec'), 0o755);
      await chmod(join(bin, 'systemctl'), 0o755);
      await writeFile(record, '');
      return record;
    }

    it('reads its tags over IMDSv2, fetches the system, makes it the boot default and kexecs into it', async () => {
      const h = host('asg-1');
      const imds = await startImds(() => ({ Name: 'web', 'fleet:system': v2, 'fleet:substituters': cache.url }));
      try {
        const record = await installKexecStandIns(h);
        // The keys come from the launch template's user data, which sets them before the script.
        const run = await h.ssh(['env', `FLEET_IMDS_ENDPOINT=${imds.url}`, `FLEET_TRUSTED_PUBLIC_KEYS=${cacheKey.public}`, 'bash', await userData(h)], { timeoutMs: 120_000 });
        expect(run.stderr).toContain(`kexec into ${v2}`);
        expect(run.code).toBe(0);
        expect(imds.requests[0]).toBe('PUT /latest/api/token');
        expect(await h.profileSystem()).toBe(v2);
        expect(await h.bootDefault()).toBe(v2);
        expect(await h.currentSystem()).toBe(v1);
        const kexec = (await readFile(record, 'utf8')).trim().split('\n');
        expect(kexec).toEqual([`kexec --load ${v2}/kernel --initrd=${v2}/initrd --append=init=${v2}/init ${await readFile(join(h.root, v2, 'kernel-params'), 'utf8')}`, 'systemctl kexec']);

        // The kexec boots the boot default; on that boot the script finds the system running.
        await rebootHost(h);
        expect(await h.bootedSystem()).toBe(v2);
        const record2 = await installKexecStandIns(h);
        const again = await h.ssh(['env', `FLEET_IMDS_ENDPOINT=${imds.url}`, `FLEET_TRUSTED_PUBLIC_KEYS=${cacheKey.public}`, 'bash', await userData(h)], { timeoutMs: 60_000 });
        expect(again.code).toBe(0);
        expect(again.stderr).toContain(`running ${v2}`);
        expect(await readFile(record2, 'utf8')).toBe('');
      } finally {
        await imds.stop();
      }
    });

    it('never trusts keys named by an instance tag: whoever may write tags cannot vouch for a system', async () => {
      const h = host('asg-3');
      // A tag-writer names the key the cache is signed with; the user data and the AMI name none.
      const imds = await startImds(() => ({ Name: 'web', 'fleet:system': v2, 'fleet:substituters': cache.url, 'fleet:trusted-public-keys': cacheKey.public }));
      try {
        const record = await installKexecStandIns(h);
        const run = await h.ssh(['env', `FLEET_IMDS_ENDPOINT=${imds.url}`, 'bash', await userData(h)], { timeoutMs: 180_000 });
        expect(run.stderr).toContain('ignoring the fleet:trusted-public-keys tag');
        expect(run.stderr).toContain(`could not fetch ${v2}`);
        expect(run.code).toBe(1);
        expect(await h.profileSystem()).toBe(v1);
        expect(await h.bootDefault()).toBe(v1);
        expect(await readFile(record, 'utf8')).toBe('');
      } finally {
        await imds.stop();
      }
    }, 240_000);

    it('says what is wrong when instance tags are not served, and does nothing without a fleet:system tag', async () => {
      const h = host('asg-2');
      let tags: Record<string, string> | undefined;
      const imds = await startImds(() => tags);
      try {
        const record = await installKexecStandIns(h);
        const off = await h.ssh(['env', `FLEET_IMDS_ENDPOINT=${imds.url}`, 'bash', await userData(h)]);
        expect(off.code).toBe(1);
        expect(off.stderr).toContain('enable InstanceMetadataTags');
        tags = { Name: 'web' };
        const none = await h.ssh(['env', `FLEET_IMDS_ENDPOINT=${imds.url}`, 'bash', await userData(h)]);
        expect(none.code).toBe(0);
        expect(none.stderr).toContain('no fleet:system tag');
        tags = { 'fleet:system': '/nix/store/not-a-path' };
        const bad = await h.ssh(['env', `FLEET_IMDS_ENDPOINT=${imds.url}`, 'bash', await userData(h)]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('is not a store path');
        expect(await readFile(record, 'utf8')).toBe('');
        expect(await h.profileGeneration()).toBe(1);
      } finally {
        await imds.stop();
      }
    });
  });

  describe('the NixOS-Deploy SSM document', () => {
    let document: CommandDocument;
    beforeAll(async () => {
      document = JSON.parse(await readFile(DOCUMENT, 'utf8')) as CommandDocument;
    });

    /** The instance's own NixOS configuration trusts the cache's key (the document never passes keys). */
    async function trustCacheKey(h: SimulatedHost): Promise<void> {
      const conf = join(h.root, 'etc-nix', 'nix.conf');
      const text = await readFile(conf, 'utf8');
      if (!text.includes(cacheKey.public)) await writeFile(conf, `${text}trusted-public-keys = ${cacheKey.public}\n`);
    }

    /** Runs the document on `h` as SSM Agent does (see documentScript). */
    async function runDocument(h: SimulatedHost, params: Record<string, string>, options: { envVars?: boolean; trustCache?: boolean; extraEnv?: string[] } = {}) {
      if (options.trustCache ?? true) await trustCacheKey(h);
      const all = { substituters: cache.url, action: 'switch', rollback: 'auto', executionTimeout: '600', ...params };
      const { script, env: agentEnv } = documentScript(document, all);
      const file = join(h.root, `ssm-${Date.now()}.sh`);
      await writeFile(file, `${script}\n`);
      const env = options.envVars === false ? [] : Object.entries(agentEnv).map(([k, v]) => `${k}=${v}`);
      const result = await h.ssh(['env', ...env, ...(options.extraEnv ?? []), 'bash', file], { timeoutMs: 120_000 });
      return { ...result, report: parseDocumentOutput(result.stdout) };
    }

    it('trusts only the keys of the instance itself: a command that names keys changes nothing', async () => {
      const h = host('ssm-6');
      // Whoever may send commands names the cache's key; the instance's nix.conf does not trust it.
      const run = await runDocument(h, { storePath: v2 }, { trustCache: false, extraEnv: [`SSM_trustedPublicKeys=${cacheKey.public}`] });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`could not fetch ${v2}; nothing changed`);
      expect(await h.currentSystem()).toBe(v1);
      expect(await h.profileSystem()).toBe(v1);
    });

    it('switches, printing what it did (parameters from the text, as older agents give them)', async () => {
      const h = host('ssm-1');
      const run = await runDocument(h, { storePath: v2 }, { envVars: false });
      expect(run.stdout).toContain('fleet: switch done');
      expect(run.code).toBe(0);
      expect(run.report).toMatchObject({ before: v1, target: v2, current: v2, booted: v1, generation: 2, exit: 0 });
      expect(await h.currentSystem()).toBe(v2);
    });

    it('rolls a failed switch back to the exact previous system (exit 10), and keeps a degraded one (exit 4)', async () => {
      const h = host('ssm-2');
      await h.setFault('fail');
      const failed = await runDocument(h, { storePath: v2 });
      expect(failed.code).toBe(10);
      expect(failed.report.message).toBe(`rolled back to ${v1}: switch-to-configuration switch exited with 1`);
      expect(await h.currentSystem()).toBe(v1);
      expect(await h.profileSystem()).toBe(v1);

      await h.setFault('health-fail');
      const degraded = await runDocument(h, { storePath: v2 });
      expect(degraded.code).toBe(4);
      expect(degraded.report.message).toMatch(/^activated, but the system is degraded/);
      expect(await h.currentSystem()).toBe(v2);
    });

    it('boots and asks SSM for a reboot (exit 194); run again after it, it finds the new system booted', async () => {
      const h = host('ssm-3');
      const first = await runDocument(h, { storePath: v2, action: 'reboot' });
      expect(first.code).toBe(194);
      expect(first.stdout).toContain(`fleet: rebooting into ${v2}`);
      expect(await h.bootDefault()).toBe(v2);
      expect(await h.currentSystem()).toBe(v1);
      await rebootHost(h);
      const second = await runDocument(h, { storePath: v2, action: 'reboot' });
      expect(second.code).toBe(0);
      expect(second.report).toMatchObject({ current: v2, booted: v2, message: `rebooted into ${v2}` });
    });

    it('changes nothing when the cache is unreachable (exit 1), and refuses a failed switch without rollback (exit 12)', async () => {
      const h = host('ssm-4');
      const down = await runDocument(h, { storePath: v2, substituters: `http://127.0.0.1:${await freePort()}` });
      expect(down.code).toBe(1);
      expect(down.report.message).toBe(`could not fetch ${v2}; nothing changed`);
      expect(await h.profileGeneration()).toBe(1);
      expect(await h.currentSystem()).toBe(v1);

      const h5 = host('ssm-5');
      await h5.setFault('fail');
      const off = await runDocument(h5, { storePath: v2, rollback: 'off' });
      expect(off.code).toBe(12);
      expect(await h5.currentSystem()).toBe(v2);
    });
  });
});
