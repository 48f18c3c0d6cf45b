import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HttpBinaryCacheStore } from '../../src/cache/stores/http.js';
import { StoreError } from '../../src/cache/stores/store-error.js';
import { memoryLog } from '../../src/util/log.js';
import { generatedStream, sha256OfFile, startFaultProxy, startNginxCache, type FaultProxy, type NginxCacheHandle } from '../support/servers/index.js';
import { expectObjectsDatedWhenWritten } from '../support/store-dates.js';

const MiB = 1024 * 1024;
const fastRetry = { baseDelayMs: 5, maxDelayMs: 50, attempts: 8 };

let nginx: NginxCacheHandle;
let store: HttpBinaryCacheStore;
const proxies: FaultProxy[] = [];
const stores: HttpBinaryCacheStore[] = [];

beforeAll(async () => {
  nginx = await startNginxCache({
    extraServerConfig: [
      '    location /private/ { return 403; }',
      '    location /readonly/ { autoindex on; }',
    ].join('\n'),
  });
  store = open(nginx.url);
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(proxies.map((p) => p.stop()));
  await nginx?.stop();
});

function open(url: string, options: ConstructorParameters<typeof HttpBinaryCacheStore>[1] = {}): HttpBinaryCacheStore {
  const s = new HttpBinaryCacheStore(url, { retry: fastRetry, ...options });
  stores.push(s);
  return s;
}

async function proxy(options: Parameters<typeof startFaultProxy>[1]): Promise<FaultProxy> {
  const p = await startFaultProxy(nginx.url, options);
  proxies.push(p);
  return p;
}

/** Files under the nginx root and its body temp directory (partial uploads would show here). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('HttpBinaryCacheStore against nginx WebDAV', () => {
  test('round-trips small objects, nested keys included', async () => {
    await store.put('nix-cache-info', 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n', 'text/x-nix-cache-info');
    await store.put('fleet/prod/web-1.json', Buffer.from('{"host":"web-1"}'), 'application/json');
    expect((await store.get('nix-cache-info'))?.toString()).toBe('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
    expect((await store.get('fleet/prod/web-1.json'))?.toString()).toBe('{"host":"web-1"}');
    expect(await store.has('fleet/prod/web-1.json')).toBe(true);
    // overwriting replaces
    await store.put('fleet/prod/web-1.json', '{"host":"web-1","v":2}', 'application/json');
    expect((await store.get('fleet/prod/web-1.json'))?.toString()).toBe('{"host":"web-1","v":2}');
  });

  test('dates an object by when the store wrote it (the wave gate checks host clocks against it)', async () => {
    await expectObjectsDatedWhenWritten(store);
  });

  test('a missing object: has() is false and get() undefined, for 404 and for 403', async () => {
    expect(await store.has('0000000000000000000000000000000a.narinfo')).toBe(false);
    expect(await store.get('0000000000000000000000000000000a.narinfo')).toBeUndefined();
    // the extra location answers 403, as S3 does for a missing key without ListBucket
    expect(await store.has('private/x.narinfo')).toBe(false);
    expect(await store.get('private/x.narinfo')).toBeUndefined();
  });

  test('get() with notFoundOnly: a 404 is missing, a 403 is an error saying read access is needed', async () => {
    expect(await store.get('fleet/prod/nobody.json', { notFoundOnly: true })).toBeUndefined();
    await expect(store.get('private/fleet/prod/web-1.json', { notFoundOnly: true })).rejects.toMatchObject({
      status: 403,
      message: expect.stringMatching(/GET \S+\/private\/fleet\/prod\/web-1\.json failed: HTTP 403/),
    });
    await expect(store.get('private/fleet/prod/web-1.json', { notFoundOnly: true })).rejects.toThrow(/need read access to this key/);
  });

  test('list() is recursive, filters by prefix and ignores what is not under it', async () => {
    await store.put('fleet/staging/a.json', '{}', 'application/json');
    await store.put('fleet/staging/deep/b.json', '{}', 'application/json');
    await store.put('fleet/stage-x.json', '{}', 'application/json');
    expect(await store.list('fleet/staging/')).toEqual(['fleet/staging/a.json', 'fleet/staging/deep/b.json']);
    expect(await store.list('fleet/stag')).toEqual(['fleet/stage-x.json', 'fleet/staging/a.json', 'fleet/staging/deep/b.json']);
    expect(await store.list('nothing-here/')).toEqual([]);
    expect(await store.list('')).toEqual(expect.arrayContaining(['nix-cache-info', 'fleet/staging/deep/b.json']));
  });

  test('a server set up without WebDAV or JSON listings fails with the nginx setting to add', async () => {
    await mkdir(join(nginx.root, 'readonly'));
    const readonly = open(`${nginx.url}/readonly`, { retry: { attempts: 1 } });
    await expect(readonly.put('x.narinfo', 'x', 'text/x-nix-narinfo')).rejects.toThrow(
      `PUT ${nginx.url}/readonly/x.narinfo failed: HTTP 405 Not Allowed. The server does not accept this method: on nginx set \`dav_methods PUT DELETE;\``,
    );
    await expect(readonly.list('')).rejects.toThrow(`${nginx.url}/readonly/ did not return a JSON directory listing. Listing needs \`autoindex on; autoindex_format json;\``);
  });

  test('delete() removes an object and ignores a missing one', async () => {
    await store.put('fleet/tmp/gone.json', '{}', 'application/json');
    await store.delete('fleet/tmp/gone.json');
    expect(await store.has('fleet/tmp/gone.json')).toBe(false);
    await expect(store.delete('fleet/tmp/gone.json')).resolves.toBeUndefined();
  });

  test('putStream sends a 64 MiB body chunked without buffering it', async () => {
    const counting = await proxy({});
    const viaProxy = open(counting.url);
    let maxLead = 0;
    const body = generatedStream({
      bytes: 64 * MiB,
      onChunk: (produced) => {
        maxLead = Math.max(maxLead, produced - counting.stats.requestBodyBytes);
      },
    });
    const result = await viaProxy.putStream('nar/big.nar.zst', body.stream, 'application/x-nix-nar');
    expect(result.bytes).toBe(64 * MiB);
    expect(await sha256OfFile(join(nginx.root, 'nar', 'big.nar.zst'))).toBe(body.digest());
    // The producer never ran far ahead of what reached the server: socket buffers, not the body.
    expect(maxLead).toBeLessThan(16 * MiB);
  });

  test('putStream with a factory retries a cut upload and stores the whole object', async () => {
    const faulty = await proxy({ failRate: 0.5, cutAfterBytes: 100_000, methods: ['PUT'], seed: 3 });
    const viaProxy = open(faulty.url);
    let made = 0;
    const digests: string[] = [];
    const result = await viaProxy.putStream('nar/retried.nar.zst', () => {
      made++;
      const body = generatedStream({ bytes: 1 * MiB, seed: 9 });
      body.stream.on('end', () => digests.push(body.digest()));
      return body.stream;
    }, 'application/x-nix-nar');
    expect(result.bytes).toBe(MiB);
    expect(faulty.stats.injected.cut).toBeGreaterThan(0);
    expect(made).toBe(faulty.stats.injected.cut + 1);
    expect(await sha256OfFile(join(nginx.root, 'nar', 'retried.nar.zst'))).toBe(digests.at(-1));
  });

  test('a cut streamed upload fails clearly and nginx keeps no partial file', async () => {
    // Before the connection drops, wait until nginx has spooled part of the body to a temp file.
    let spooledMidway = 0;
    const cutter = await proxy({
      failRate: 1,
      cutAfterBytes: 3 * MiB,
      methods: ['PUT'],
      beforeCut: () => waitFor(async () => {
        const sizes = await Promise.all((await filesUnder(nginx.bodyTempDir)).map(async (f) => (await stat(f)).size));
        spooledMidway = Math.max(0, ...sizes);
        return spooledMidway >= MiB;
      }),
    });
    const viaProxy = open(cutter.url);
    const body = generatedStream({ bytes: 8 * MiB });
    const error = await viaProxy.putStream('nar/cut.nar.zst', body.stream, 'application/x-nix-nar').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(`${cutter.url}/nar/cut.nar.zst`);
    expect((error as StoreError).message).toMatch(/not stored; re-run the push/);
    expect((error as StoreError).retryable).toBe(true);
    expect(cutter.stats.injected.cut).toBe(1);
    expect(spooledMidway).toBeGreaterThanOrEqual(MiB);
    // nginx noticed the truncated body, dropped its spool file and stored nothing
    await waitFor(async () => /client prematurely closed connection.*PUT \/nar\/cut\.nar\.zst/.test(await nginx.errorLog()));
    await waitFor(async () => (await filesUnder(nginx.bodyTempDir)).length === 0);
    expect(await store.has('nar/cut.nar.zst')).toBe(false);
    expect(await filesUnder(nginx.root)).not.toContain(join(nginx.root, 'nar', 'cut.nar.zst'));
  });

  test('a failing source stream fails the upload and leaves nothing behind', async () => {
    const body = generatedStream({ bytes: 8 * MiB, failAfterBytes: 2 * MiB });
    const error = await store.putStream('nar/broken.nar.zst', body.stream, 'application/x-nix-nar').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(/data being uploaded failed: generated stream failed on purpose/);
    expect(await store.has('nar/broken.nar.zst')).toBe(false);
  });

  test('503 and 429 on a share of requests are retried until they succeed', async () => {
    const flaky = await proxy({ failRate: 0.4, status: 503, seed: 11 });
    const viaProxy = open(flaky.url);
    const keys = Array.from({ length: 40 }, (_, i) => `fleet/flaky/${i}.json`);
    await Promise.all(keys.map((key) => viaProxy.put(key, JSON.stringify({ key }), 'application/json')));
    const read = await Promise.all(keys.map((key) => viaProxy.get(key)));
    expect(read.map((b) => JSON.parse(b?.toString() ?? 'null').key)).toEqual(keys);
    expect(await Promise.all(keys.map((key) => viaProxy.has(key)))).toEqual(keys.map(() => true));
    expect(flaky.stats.injected.status).toBeGreaterThan(10);

    const throttled = await proxy({ failRate: 0.4, status: 429, seed: 5 });
    const viaThrottle = open(throttled.url);
    await Promise.all(keys.map((key) => viaThrottle.has(key)));
    expect(throttled.stats.injected.status).toBeGreaterThan(0);
  });

  test('a download cut mid-body is retried', async () => {
    await store.put('fleet/cut/big.json', Buffer.alloc(300_000, 0x61), 'application/json');
    const cutter = await proxy({ failRate: 0.5, cutAfterBytes: 1000, methods: ['GET'], seed: 2 });
    const viaProxy = open(cutter.url);
    const results = await Promise.all(Array.from({ length: 6 }, () => viaProxy.get('fleet/cut/big.json')));
    for (const body of results) expect(body?.length).toBe(300_000);
    expect(cutter.stats.injected.cut).toBeGreaterThan(0);
  });

  test('persistent 503 gives up with a message naming the URL and what to do', async () => {
    const down = await proxy({ failRate: 1, status: 503 });
    const viaProxy = open(down.url, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const error = await viaProxy.get('nix-cache-info').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(`GET ${down.url}/nix-cache-info failed: HTTP 503`);
    expect((error as Error).message).toMatch(/gave up after 3 attempts/);
    expect((error as Error).message).toMatch(/overloaded or failing/);
    expect(down.stats.injected.status).toBe(3);
  });

  test('HEAD refused with 405 falls back to GET', async () => {
    const noHead = await proxy({ failRate: 1, status: 405, methods: ['HEAD'] });
    const viaProxy = open(noHead.url);
    expect(await viaProxy.has('nix-cache-info')).toBe(true);
    expect(await viaProxy.has('missing.narinfo')).toBe(false);
    // HEAD was tried once, then every check used GET
    expect(noHead.stats.log.filter((r) => r.method === 'HEAD')).toHaveLength(1);
    expect(noHead.stats.log.filter((r) => r.method === 'GET')).toHaveLength(2);
  });

  test('connections are kept alive and reused', async () => {
    const counting = await proxy({});
    const viaProxy = open(counting.url, { maxSockets: 4 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => viaProxy.put(`fleet/many/${i}.json`, '{}', 'application/json')));
    await Promise.all(Array.from({ length: 100 }, (_, i) => viaProxy.has(`fleet/many/${i}.json`)));
    expect(counting.stats.requests).toBe(200);
    expect(counting.stats.connections).toBeLessThanOrEqual(4);
  });

  test('credentials from the URL or options are sent, registered as secrets and never shown', async () => {
    const counting = await proxy({});
    const log = memoryLog();
    const secrets: string[] = [];
    log.secret = (value) => secrets.push(value);
    const withAuth = open(counting.url.replace('http://', 'http://deploy:s3cr%40t@'), { log });
    expect(withAuth.url).toBe(counting.url);
    expect(secrets).toContain('s3cr@t');
    await withAuth.put('fleet/auth.json', '{}', 'application/json');
    expect(counting.stats.log.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('deploy:s3cr@t').toString('base64')}`);

    const withToken = open(counting.url, { log, auth: { bearerToken: 'tok-123' } });
    expect(await withToken.has('fleet/auth.json')).toBe(true);
    expect(counting.stats.log.at(-1)?.headers.authorization).toBe('Bearer tok-123');
    expect(secrets).toContain('tok-123');

    const failing = open(counting.url.replace('http://', 'http://deploy:s3cr%40t@'), { log, retry: { attempts: 1 } });
    counting.configure({ failRate: 1, status: 500 });
    const error = await failing.put('fleet/auth.json', '{}', 'application/json').catch((e: unknown) => e);
    expect((error as Error).message).toContain(`${counting.url}/fleet/auth.json`);
    expect((error as Error).message).not.toMatch(/s3cr|deploy/);
    expect(log.lines.join('\n')).not.toMatch(/s3cr|tok-123/);
  });

  test('an unreachable server fails with a hint', async () => {
    const closed = await proxy({});
    const url = closed.url;
    await closed.stop();
    const gone = open(url, { retry: { attempts: 1 } });
    const error = await gone.get('nix-cache-info').catch((e: unknown) => e);
    expect((error as Error).message).toContain(`GET ${url}/nix-cache-info failed`);
    expect((error as Error).message).toMatch(/running and reachable/);
  });

  test('a streamed Readable that is not a factory is sent once', async () => {
    const flaky = await proxy({ failRate: 1, status: 503, methods: ['PUT'] });
    const viaProxy = open(flaky.url);
    const error = await viaProxy.putStream('nar/once.nar.zst', Readable.from([Buffer.from('abc')]), 'application/x-nix-nar').catch((e: unknown) => e);
    expect((error as StoreError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 503/);
    expect(flaky.stats.injected.status).toBe(1);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
