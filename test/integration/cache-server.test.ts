import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { narInfoKey } from '../../src/cache/narinfo.js';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { pushToCache } from '../../src/cache/push.js';
import { parseSigningKey, type SigningKey } from '../../src/cache/signing.js';
import { prepareManifestStore, publishManifest } from '../../src/deploy/pull/index.js';
import { exec, type ExecResult } from '../../src/util/exec.js';
import { memoryLog } from '../../src/util/log.js';
import { CACHE_CREDENTIALS, CACHE_SERVER_DIR, startShippedCacheServer, type NginxCacheHandle } from '../support/servers/index.js';
import { buildTestClosure, nix, nixEnv, type TestClosure } from './cache-closure.js';

const SERVER_DIR = CACHE_SERVER_DIR;
const CREDENTIALS = CACHE_CREDENTIALS;
const WRITER_PASSWORD = 'ci-writer-password-0123456789';

/** The inventory the server derives its report hosts from: two pull hosts, one by default. */
const INVENTORY = `environments:
  production: {}
defaults:
  deploy: { method: pull }
hosts:
  clinic-a: { environment: production }
  clinic-b: { environment: production, deploy: { method: pull } }
  web1: { environment: production, deploy: { method: ssh, host: web1.example.org } }
`;

function credentials(args: readonly string[], input?: string): Promise<ExecResult> {
  return exec('sh', [CREDENTIALS, ...args], { allowFailure: true, ...(input === undefined ? {} : { input }) });
}

/**
 * The self-hosted cache server (host/nixos/fleet-cache-server.nix) for real: Debian's nginx with
 * the config the module ships, credentials made by the same script and host list the module's
 * derivation makes, a cache pushed by our push code and read back by real Nix.
 */
describe('fleet cache server (nginx, per-host report tokens)', () => {
  let dir: string;
  let runtimeDir: string;
  let secretFile: string;
  let hostsFile: string;
  let server: NginxCacheHandle;
  let closure: TestClosure;
  let cacheKey: SigningKey;
  let writer: OpenedStore;
  const env = () => nixEnv({ XDG_CACHE_HOME: join(dir, 'xdg') });

  const token = async (host: string, secret = secretFile): Promise<string> => {
    const result = await credentials(['token', secret, host]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return result.stdout.trim();
  };
  const put = (path: string, body: string, authorization?: string, method = 'PUT') =>
    fetch(`${server.url}/${path}`, { method, body: method === 'PUT' ? body : undefined, headers: authorization ? { authorization } : {} }).then((r) => r.status);
  const get = (path: string) => fetch(`${server.url}/${path}`).then(async (r) => ({ status: r.status, body: await r.text() }));
  const report = (host: string) => JSON.stringify({ host, format: 1 });

  /** Writes the runtime files as the module's credentials service does, then starts nginx on them. */
  const startServer = async (): Promise<NginxCacheHandle> => {
    const map = await credentials(['report-map', secretFile, hostsFile, join(runtimeDir, 'report-tokens.map')]);
    expect(map.code).toBe(0);
    expect(map.stderr).toContain('report tokens for 2 host(s)');
    return startShippedCacheServer(runtimeDir);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-cache-server-'));
    runtimeDir = join(dir, 'run');
    await mkdir(runtimeDir, { mode: 0o750 });
    // The host list, made with the command the module's derivation runs.
    await writeFile(join(dir, 'fleet.yaml'), INVENTORY);
    hostsFile = join(dir, 'report-hosts');
    const hosts = await exec('yq', ['-r', '-f', join(SERVER_DIR, 'report-hosts.jq'), join(dir, 'fleet.yaml')]);
    await writeFile(hostsFile, hosts.stdout);
    secretFile = join(dir, 'secret');
    await writeFile(secretFile, (await credentials(['new-secret'])).stdout, { mode: 0o600 });
    const hash = (await exec('openssl', ['passwd', '-6', '-stdin'], { input: WRITER_PASSWORD })).stdout.trim();
    await writeFile(join(dir, 'writers'), `ci:${hash}\n`, { mode: 0o600 });
    expect((await credentials(['writers', join(dir, 'writers'), join(runtimeDir, 'writers.htpasswd')])).code).toBe(0);
    server = await startServer();
    closure = await buildTestClosure(dir);
    cacheKey = parseSigningKey(await nix(['key', 'generate-secret', '--key-name', 'fleet-cache-server-test-1'], env()));
    writer = openStore(`http://ci:${WRITER_PASSWORD}@127.0.0.1:${server.port}`);
  }, 180_000);

  afterAll(async () => {
    await writer?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('takes report hosts from the inventory: its pull hosts, nobody else', async () => {
    expect((await readFile(hostsFile, 'utf8')).split('\n').filter(Boolean)).toEqual(['clinic-a', 'clinic-b']);
    const map = await readFile(join(runtimeDir, 'report-tokens.map'), 'utf8');
    expect(map).toBe(`"Bearer ${await token('clinic-a')}" clinic-a;\n"Bearer ${await token('clinic-b')}" clinic-b;\n`);
    expect((await stat(join(runtimeDir, 'report-tokens.map'))).mode & 0o777).toBe(0o640);
  });

  it('derives each token as HMAC-SHA256(secret, "fleet-report:" + host), the secret read from a file or stdin', async () => {
    const secret = (await readFile(secretFile, 'utf8')).trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const expected = createHmac('sha256', Buffer.from(secret, 'hex')).update('fleet-report:clinic-a').digest('hex');
    expect(await token('clinic-a')).toBe(expected);
    const fromStdin = await credentials(['token', '-', 'clinic-a'], `${secret}\n`);
    expect(fromStdin.stdout).toBe(`${expected}\n`);
    expect(await token('clinic-b')).not.toBe(expected);
  });

  it('refuses host names outside the inventory rule and a malformed secret', async () => {
    for (const bad of ['-x', '.hidden', 'a b', 'a;b', 'a"b', 'a/b', '']) {
      const result = await credentials(['token', secretFile, bad]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
    }
    await writeFile(join(dir, 'bad-hosts'), 'clinic-a\nclinic-b" x; include /etc/passwd;\n');
    const out = join(dir, 'bad.map');
    const refused = await credentials(['report-map', secretFile, join(dir, 'bad-hosts'), out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not an inventory host name');
    await expect(stat(out)).rejects.toThrow();
    const short = await credentials(['token', '-', 'clinic-a'], 'abc123\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('64 hex digits');
    await writeFile(join(dir, 'plain-writers'), `ci:${WRITER_PASSWORD}\n`);
    expect((await credentials(['writers', join(dir, 'plain-writers'), join(dir, 'w')])).stderr).toContain('user:hash lines');
  });

  it('lets the CI writer push a cache and manifests that anyone reads, and real Nix substitutes from', async () => {
    const pushed = await pushToCache({ paths: closure.infos, store: writer, signingKey: cacheKey, compression: { method: 'zstd' }, log: memoryLog() });
    expect(pushed.totals).toMatchObject({ paths: closure.infos.length, pushed: closure.infos.length, failed: 0, blocked: 0 });
    const manifestKey = parseSigningKey(await nix(['key', 'generate-secret', '--key-name', 'fleet-manifest-test-1'], env()));
    await prepareManifestStore(writer);
    await publishManifest({ host: 'clinic-a', environment: 'production', system: closure.top }, { store: writer, signingKey: manifestKey });

    expect((await get('nix-cache-info')).body).toContain('StoreDir: /nix/store');
    expect((await get(narInfoKey(closure.top))).status).toBe(200);
    const pointer = await get('fleet/production/clinic-a.json');
    expect(pointer.status).toBe(200);
    expect(JSON.parse(pointer.body)).toMatchObject({ manifest: { host: 'clinic-a', system: closure.top } });

    const dest = join(dir, 'dest-store');
    const copied = await exec('nix', ['copy', '--from', server.url, '--to', dest, '--option', 'trusted-public-keys', cacheKey.publicKey.text, '--option', 'require-sigs', 'true', closure.top], {
      env: env(),
      allowFailure: true,
      timeoutMs: 120_000,
    });
    expect(copied.stderr).toContain(`copying path '${closure.top}' from '${server.url}'`);
    expect(copied.code).toBe(0);
    expect((await exec('nix', ['path-info', '--store', dest, closure.top], { env: env() })).stdout.trim()).toBe(closure.top);
  }, 180_000);

  it('takes real Nix as a writer too (nix copy --to with the password in the URL), and only with it', async () => {
    const keyFile = join(dir, 'cache-key');
    await writeFile(keyFile, await nix(['key', 'generate-secret', '--key-name', 'fleet-cache-server-test-2'], env()), { mode: 0o600 });
    const extra = join(dir, 'extra');
    await mkdir(extra);
    await writeFile(join(extra, 'file'), 'copied by nix\n');
    const path = (await nix(['store', 'add-path', extra], env())).trim();
    const copyTo = (url: string) => exec('nix', ['copy', '--to', `${url}?secret-key=${keyFile}`, path], { env: env(), allowFailure: true, timeoutMs: 120_000 });
    const anonymous = await copyTo(server.url);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/401/);
    expect((await get(narInfoKey(path))).status).toBe(404);
    const copied = await copyTo(`http://ci:${WRITER_PASSWORD}@127.0.0.1:${server.port}`);
    expect(copied.code).toBe(0);
    expect((await get(narInfoKey(path))).body).toContain(`StorePath: ${path}`);
  }, 180_000);

  it('refuses writes without the writer password, and to the reports even with it', async () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect(await put('nar/anonymous.nar', 'x')).toBe(401);
    expect(await put('nar/wrong.nar', 'x', basic('ci', 'not-the-password'))).toBe(401);
    expect(await put('nar/deleted.nar', 'x', basic('ci', WRITER_PASSWORD))).toBe(201);
    expect(await put('nar/deleted.nar', '', undefined, 'DELETE')).toBe(401);
    expect(await put('nar/deleted.nar', '', basic('ci', WRITER_PASSWORD), 'DELETE')).toBe(204);
    expect(await put('fleet/status/clinic-a.json', report('clinic-a'), basic('ci', WRITER_PASSWORD))).toBe(403);
  });

  it('lets each host PUT its own report only, with its own token', async () => {
    const a = `Bearer ${await token('clinic-a')}`;
    const b = `Bearer ${await token('clinic-b')}`;
    expect(await put('fleet/status/clinic-a.json', report('clinic-a'), a)).toBe(201);
    expect(await put('fleet/status/clinic-a.json', report('clinic-a'), a)).toBe(204);
    expect(await put('fleet/status/clinic-b.json', report('clinic-b'), b)).toBe(201);
    expect(await get('fleet/status/clinic-a.json')).toEqual({ status: 200, body: report('clinic-a') });

    // Another host's report, no token, a wrong token, a name that only looks alike.
    expect(await put('fleet/status/clinic-b.json', report('forged'), a)).toBe(403);
    expect(await put('fleet/status/clinic-a.json', report('forged'))).toBe(403);
    expect(await put('fleet/status/clinic-a.json', report('forged'), `Bearer ${'0'.repeat(64)}`)).toBe(403);
    expect(await put('fleet/status/clinic-a.json.json', report('forged'), a)).toBe(403);
    expect(await put('fleet/status/x/clinic-a.json', report('forged'), a)).toBe(403);
    expect(await put('fleet/status/.json', report('forged'))).toBe(403);
    expect(await put('fleet/status/clinic-a.json', '', a, 'DELETE')).toBe(403);
    expect(await put('fleet/status/clinic-%61.json', report('encoded'), a)).toBe(204);
    expect((await get('fleet/status/clinic-b.json')).body).toBe(report('clinic-b'));
    expect((await get('fleet/status/clinic-a.json')).body).toBe(report('encoded'));

    // Nothing else takes a host token: cache objects, manifests, the cache's own description.
    for (const path of [narInfoKey(closure.top), 'nar/planted.nar', 'fleet/production/clinic-a.json', 'nix-cache-info', 'clinic-a.json', 'fleet/status']) {
      expect([path, await put(path, 'planted', a)]).toEqual([path, 401]);
    }
    expect((await get('fleet/production/clinic-a.json')).body).not.toBe('planted');
  });

  it('gives no working token to a host outside the inventory', async () => {
    expect(await put('fleet/status/web1.json', report('web1'), `Bearer ${await token('web1')}`)).toBe(403);
    expect(await put('fleet/status/clinic-z.json', report('clinic-z'), `Bearer ${await token('clinic-z')}`)).toBe(403);
    expect((await get('fleet/status/web1.json')).status).toBe(404);
  });

  it('lets the CI list and read the reports through its store code', async () => {
    expect((await writer.list('fleet/status/')).sort()).toEqual(['fleet/status/clinic-a.json', 'fleet/status/clinic-b.json']);
    expect((await writer.get('fleet/status/clinic-b.json'))?.toString()).toBe(report('clinic-b'));
  });

  it('voids every token when the master secret is rotated', async () => {
    const old = `Bearer ${await token('clinic-a')}`;
    await writeFile(secretFile, (await credentials(['new-secret'])).stdout, { mode: 0o600 });
    const fresh = `Bearer ${await token('clinic-a')}`;
    expect(fresh).not.toBe(old);
    await writer.close();
    await server.stop();
    server = await startServer();
    writer = openStore(`http://ci:${WRITER_PASSWORD}@127.0.0.1:${server.port}`);
    expect(await put('fleet/status/clinic-a.json', report('clinic-a'), old)).toBe(403);
    expect(await put('fleet/status/clinic-a.json', report('clinic-a'), fresh)).toBe(201);
  });
});
