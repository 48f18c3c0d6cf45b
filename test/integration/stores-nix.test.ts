import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { FileBinaryCacheStore } from '../../src/cache/stores/file.js';
import { exec } from '../../src/util/exec.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, runNix, shDerivation } from '../support/nix.js';
import { startNginxCache, startS3rver, type NginxCacheHandle, type S3rverHandle } from '../support/servers/index.js';

/**
 * The servers and stores as real Nix caches: what `nix copy --to` writes, our stores read; what
 * our stores write, `nix copy --from` substitutes with signatures checked.
 */

let work: string;
let nginx: NginxCacheHandle;
let s3: S3rverHandle;
let secretKeyFile: string;
let publicKey: string;
let paths: string[];
let fileCache: string;
const opened: OpenedStore[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fleet-stores-nix-'));
  [nginx, s3] = await Promise.all([startNginxCache(), startS3rver()]);

  // A throwaway signing key: Nix takes `secret-key=` as a file, so this test key goes on disk.
  const secret = (await exec('nix', ['key', 'generate-secret', '--key-name', 'fleet-test-1'], { env: offlineNixEnv() })).stdout.trim();
  publicKey = (await exec('nix', ['key', 'convert-secret-to-public'], { env: offlineNixEnv(), input: secret })).stdout.trim();
  secretKeyFile = join(work, 'secret.key');
  await writeFile(secretKeyFile, secret, { mode: 0o600 });

  // Two paths, one referencing the other; the nonce keeps them unique to this run.
  const nonce = randomBytes(6).toString('hex');
  const dep = shDerivation(`fleet-stores-dep-${nonce}`, 'mkdir $out && echo dependency > $out/data && head -c 300000 /dev/zero > $out/zeros');
  const top = shDerivation(`fleet-stores-top-${nonce}`, 'mkdir $out && echo ${dep} > $out/ref');
  const built = await runNix(['build', '--impure', '--no-link', '--json', '--expr', `let dep = ${dep}; in ${top}`]);
  expect(built.code).toBe(0);
  const topPath = (JSON.parse(built.stdout) as { outputs: { out: string } }[])[0]?.outputs.out as string;
  const closure = await exec('nix-store', ['--query', '--requisites', topPath], { env: offlineNixEnv() });
  paths = closure.stdout.trim().split('\n');
  expect(paths).toHaveLength(2);

  fileCache = join(work, 'file-cache');
  const copied = await runNix(['copy', '--to', `file://${fileCache}?compression=zstd&secret-key=${secretKeyFile}`, topPath]);
  expect(copied.stderr).not.toMatch(/error/);
  expect(copied.code).toBe(0);
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await cleanupFreshStores();
  await Promise.all([nginx?.stop(), s3?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

function open(url: string, options: Parameters<typeof openStore>[1] = {}): OpenedStore {
  const store = openStore(url, options);
  opened.push(store);
  return store;
}

const hashPart = (path: string): string => path.slice('/nix/store/'.length, '/nix/store/'.length + 32);

/** Checks that `store` holds a signed narinfo for every path, and its NAR. */
async function expectNixCache(store: OpenedStore): Promise<void> {
  expect((await store.get('nix-cache-info'))?.toString()).toContain('StoreDir: /nix/store');
  for (const path of paths) {
    expect(await store.has(`${hashPart(path)}.narinfo`)).toBe(true);
    const narinfo = (await store.get(`${hashPart(path)}.narinfo`))?.toString() ?? '';
    expect(narinfo).toContain(`StorePath: ${path}\n`);
    expect(narinfo).toMatch(/^Sig: fleet-test-1:/m);
    const url = /^URL: (.*)$/m.exec(narinfo)?.[1] ?? '';
    expect(url).toMatch(/^nar\/\w+\.nar\.zst$/);
    expect(await store.has(url)).toBe(true);
  }
  expect((await store.list('nar/')).length).toBe(paths.length);
}

/** Copies every object of the file cache into `store` through our store API (NARs streamed). */
async function copyFileCacheInto(store: OpenedStore): Promise<void> {
  const source = new FileBinaryCacheStore(fileCache);
  for (const key of await source.list('')) {
    if (key.startsWith('nar/')) {
      await store.putStream(key, () => createReadStream(join(fileCache, key)), 'application/x-nix-nar');
    }
  }
  // narinfos after their NARs, nix-cache-info last: a reader never sees what it cannot fetch
  for (const key of (await source.list('')).filter((k) => k.endsWith('.narinfo'))) {
    await store.put(key, (await source.get(key)) as Buffer, 'text/x-nix-narinfo');
  }
  await store.put('nix-cache-info', (await source.get('nix-cache-info')) as Buffer, 'text/x-nix-cache-info');
}

async function expectNixSubstitutes(cacheUrl: string): Promise<void> {
  const target = await freshStore();
  const result = await target.copyFrom(cacheUrl, paths, { trustedPublicKeys: publicKey });
  expect(result.stderr).not.toMatch(/error/);
  expect(result.code).toBe(0);
  for (const path of paths) expect(await target.has(path)).toBe(true);
  // and an untrusted key is refused: the signatures are really checked
  const other = await freshStore();
  const refused = await other.copyFrom(cacheUrl, paths, { trustedPublicKeys: 'other-1:nd7cHx9UNU87Psdkw0o+0mIKHV6c6ggL4ZRtpWTocqA=' });
  expect(refused.code).not.toBe(0);
}

describe('real Nix and our stores share binary caches', () => {
  test('file://: our file store reads what nix copy wrote', async () => {
    await expectNixCache(open(`file://${fileCache}`));
  });

  test('nginx: nix copy --to http:// writes, our HTTP store reads, nix copy --from substitutes', async () => {
    const pushed = await runNix(['copy', '--to', `${nginx.url}/?compression=zstd&secret-key=${secretKeyFile}`, ...paths]);
    expect(pushed.code).toBe(0);
    await expectNixCache(open(nginx.url));
    // nginx stored exactly the objects, no temp files left
    expect((await readdir(nginx.root)).sort()).toEqual(['nar', 'nix-cache-info', ...paths.map((p) => `${hashPart(p)}.narinfo`)].sort());
    await expectNixSubstitutes(nginx.url);
  });

  test('nginx: what our HTTP store writes, Nix substitutes', async () => {
    const store = open(`${nginx.url}/ours?compression=zstd`);
    expect(store.url).toBe(`${nginx.url}/ours`);
    await copyFileCacheInto(store);
    await expectNixCache(store);
    await expectNixSubstitutes(`${nginx.url}/ours`);
  });

  test('s3rver: what our S3 store writes, Nix substitutes over plain HTTP', async () => {
    const store = open(s3.cacheUrl, { credentials: s3.credentials });
    await copyFileCacheInto(store);
    await expectNixCache(store);
    await expectNixSubstitutes(s3.url);
  });

  test('file://: what our file store writes, Nix substitutes', async () => {
    const dir = join(work, 'ours-file');
    const store = open(`file://${dir}`);
    await copyFileCacheInto(store);
    await expectNixCache(store);
    await expectNixSubstitutes(`file://${dir}`);
  });
});
