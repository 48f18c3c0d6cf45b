import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint, narInfoKey, parseNarInfo, renderNarInfo } from '../../src/cache/narinfo.js';
import { openStore, type OpenStoreOptions } from '../../src/cache/open-store.js';
import { pushToCache, type PushOptions, type PushResult } from '../../src/cache/push.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { memoryLog } from '../../src/util/log.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, runNix } from '../support/nix.js';
import { startFaultProxy, startNginxCache, type FaultProxy, type NginxCacheHandle } from '../support/servers/index.js';
import { buildTestClosure, type TestClosure } from './cache-closure.js';

/**
 * verify-cache against real caches: a closure is pushed, then damaged the ways a cache really
 * breaks (a NAR lost to a lifecycle rule or a half-finished cleanup, a narinfo written by a
 * `nix copy` with another key, a narinfo cut short), and real Nix, requiring our signature, is
 * the judge of whether the cache serves the closure again.
 */

let work: string;
let closure: TestClosure;
let nginx: NginxCacheHandle;
const keys = nixKeyPair('fleet-verify-1');
const key = parseSigningKey(keys.secret);
const otherKey = parseSigningKey(nixKeyPair('someone-else-1').secret);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fleet-cache-verify-'));
  [closure, nginx] = await Promise.all([buildTestClosure(work), startNginxCache()]);
});
afterAll(async () => {
  await Promise.all([nginx?.stop(), cleanupFreshStores()]);
  await rm(work, { recursive: true, force: true });
});

const pathNamed = (suffix: string): string => {
  const info = closure.infos.find((i) => i.path.endsWith(`-fleet-cache-test-${suffix}`));
  if (!info) throw new Error(`the test closure has no ${suffix}`);
  return info.path;
};

async function push(url: string, extra: Partial<PushOptions> = {}, storeOptions: OpenStoreOptions = {}): Promise<PushResult & { log: string[] }> {
  const store = openStore(url, storeOptions);
  const log = memoryLog();
  try {
    const result = await pushToCache({ paths: closure.infos, store, signingKey: key, log, concurrency: 4, narWorkers: 0, ...extra });
    return { ...result, log: log.lines };
  } finally {
    await store.close();
  }
}

/** Every file of the cache and its content: what "left as it is" is checked against. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    files.set(file.slice(root.length + 1), (await readFile(file)).toString('base64'));
  }
  return files;
}

/**
 * Breaks three entries: the leaf's NAR deleted (its NAR is streamed when re-pushed), the app's
 * narinfo signed only by another key, the single file's narinfo cut short.
 */
async function damage(root: string): Promise<{ gone: string; foreign: string; garbled: string }> {
  const gone = pathNamed('leaf');
  const foreign = pathNamed('app');
  const garbled = pathNamed('single');
  await rm(join(root, parseNarInfo(await readFile(join(root, narInfoKey(gone)), 'utf8')).url));
  const app = parseNarInfo(await readFile(join(root, narInfoKey(foreign)), 'utf8'));
  await writeFile(join(root, narInfoKey(foreign)), renderNarInfo({ ...app, sigs: [otherKey.sign(fingerprint(app))] }));
  const single = await readFile(join(root, narInfoKey(garbled)), 'utf8');
  await writeFile(join(root, narInfoKey(garbled)), single.slice(0, single.indexOf('NarHash')));
  return { gone, foreign, garbled };
}

describe.each([
  ['file://', () => ({ url: `file://${join(work, 'file-cache')}`, root: join(work, 'file-cache') })],
  ['nginx (HTTP PUT)', () => ({ url: nginx.url, root: nginx.root })],
])('a damaged %s cache', (_kind, where) => {
  let url: string;
  let root: string;
  let broken: Awaited<ReturnType<typeof damage>>;

  beforeAll(async () => {
    ({ url, root } = where());
    const first = await push(url);
    expect(first.totals).toMatchObject({ pushed: closure.infos.length, failed: 0 });
    broken = await damage(root);
  });

  it('is left as it is without verify-cache, and real Nix cannot fetch the closure from it', async () => {
    const before = await snapshot(root);
    const again = await push(url);
    expect(again.totals).toMatchObject({ pushed: 0, repaired: 0, skipped: closure.infos.length });
    expect(await snapshot(root)).toEqual(before);
    const store = await freshStore();
    const copy = await store.copyFrom(url, [closure.top], { trustedPublicKeys: keys.public, requireSigs: true });
    expect(copy.code).not.toBe(0);
    expect(await store.has(closure.top)).toBe(false);
  });

  it('is repaired with verify-cache: each broken path is reported with what was done, and real Nix fetches the whole closure', async () => {
    const repaired = await push(url, { verifyExisting: true });
    const byPath = new Map(repaired.paths.map((p) => [p.path, p]));
    expect(repaired.paths.filter((p) => p.status === 'repaired').map((p) => [p.path, p.repair?.label]).sort()).toEqual(
      [
        [broken.gone, 'NAR missing, re-pushed'],
        [broken.foreign, 're-signed'],
        [broken.garbled, 'narinfo unreadable, re-pushed'],
      ].sort(),
    );
    expect(repaired.totals).toMatchObject({ pushed: 0, repaired: 3, skipped: closure.infos.length - 3, failed: 0, blocked: 0 });
    expect(byPath.get(broken.gone)?.fileSize).toBeGreaterThan(0);
    expect(byPath.get(broken.foreign)?.fileSize).toBe(0);

    const store = await freshStore();
    const copy = await store.copyFrom(url, [closure.top], { trustedPublicKeys: keys.public, requireSigs: true });
    expect({ code: copy.code, stderr: copy.code === 0 ? '' : copy.stderr }).toEqual({ code: 0, stderr: '' });
    for (const info of closure.infos) expect(await store.has(info.path)).toBe(true);
    // The re-signed narinfo kept the other key's signature: Nix trusting only that key accepts it too.
    const app = parseNarInfo(await readFile(join(root, narInfoKey(broken.foreign)), 'utf8'));
    expect(app.sigs.map((s) => s.split(':')[0]).sort()).toEqual(['fleet-verify-1', 'someone-else-1']);
    for (const trusted of [keys.public, otherKey.publicKey.text]) {
      const verify = await runNix(['store', 'verify', '--no-contents', '--store', url, '--option', 'trusted-public-keys', trusted, broken.foreign]);
      expect({ trusted, code: verify.code, untrusted: /untrusted|lacks/.test(verify.stderr) }).toEqual({ trusted, code: 0, untrusted: false });
    }
  });

  it('finds nothing to repair the next time', async () => {
    const before = await snapshot(root);
    const again = await push(url, { verifyExisting: true });
    expect(again.totals).toMatchObject({ pushed: 0, repaired: 0, skipped: closure.infos.length });
    expect(await snapshot(root)).toEqual(before);
  });
});

describe('a repair whose NAR upload the cache refuses', () => {
  let cache: NginxCacheHandle;
  let proxy: FaultProxy;

  beforeAll(async () => {
    cache = await startNginxCache();
    proxy = await startFaultProxy(cache.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await cache?.stop();
  });

  it('fails with a clear error and leaves the old narinfo as it was, never pointing one at a missing NAR; a later run repairs it', async () => {
    await push(cache.url);
    const gone = pathNamed('leaf');
    const narinfoFile = join(cache.root, narInfoKey(gone));
    const nar = parseNarInfo(await readFile(narinfoFile, 'utf8')).url;
    await rm(join(cache.root, nar));
    // lib's narinfo lost our signature: its repair must wait for the leaf's and is blocked with it.
    const lib = pathNamed('lib');
    const libInfo = parseNarInfo(await readFile(join(cache.root, narInfoKey(lib)), 'utf8'));
    await writeFile(join(cache.root, narInfoKey(lib)), renderNarInfo({ ...libInfo, sigs: [] }));
    const before = await snapshot(cache.root);

    proxy.configure({ failRate: 1, status: 500, methods: ['PUT'], path: /\/nar\// });
    const refused = await push(proxy.url, { verifyExisting: true, uploadAttempts: 1 }, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    const result = (path: string) => refused.paths.find((p) => p.path === path);
    expect(result(gone)).toMatchObject({ status: 'failed', repair: { reason: 'nar-missing' } });
    expect(result(gone)?.error).toMatch(new RegExp(`^its cache entry is broken \\(${nar.replace(/\./g, '\\.')} is not in the cache\\) and re-uploading its NAR failed: .*500`));
    expect(result(lib)).toMatchObject({ status: 'blocked', error: `its reference ${gone} failed` });
    expect(refused.log).toContainEqual(expect.stringMatching(new RegExp(`^error: ${gone}: its cache entry is broken`)));
    expect(proxy.stats.injected.status).toBeGreaterThan(0);
    // Nothing was rewritten: the leaf's narinfo is the broken one it was, lib's still unsigned.
    expect(await snapshot(cache.root)).toEqual(before);

    proxy.configure({});
    const rerun = await push(proxy.url, { verifyExisting: true });
    expect(rerun.totals).toMatchObject({ repaired: 2, failed: 0 });
    const store = await freshStore();
    expect((await store.copyFrom(cache.url, [closure.top], { trustedPublicKeys: keys.public })).code).toBe(0);
  });
});
