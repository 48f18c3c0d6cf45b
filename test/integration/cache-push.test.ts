import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { BUFFERED_NAR_LIMIT } from '../../src/cache/nar-upload.js';
import { narInfoKey, parseNarInfo } from '../../src/cache/narinfo.js';
import { pushToCache } from '../../src/cache/push.js';
import { parseSigningKey, type SigningKey } from '../../src/cache/signing.js';
import { parsePathInfoJson } from '../../src/nix/path-info.js';
import { exec } from '../../src/util/exec.js';
import { memoryLog } from '../../src/util/log.js';
import { DirectoryStore } from '../support/memory-store.js';
import { buildTestClosure, nix, nixEnv, type TestClosure } from './cache-closure.js';
import { SIGNATURE_REFUSED, signatureRefusedFor } from '../support/nix-messages.js';

let dir: string;
let closure: TestClosure;
let key: SigningKey;
let env: NodeJS.ProcessEnv;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-cache-push-'));
  // Nix's narinfo disk cache lives under XDG_CACHE_HOME: keep it per test run.
  env = nixEnv({ XDG_CACHE_HOME: join(dir, 'xdg') });
  closure = await buildTestClosure(dir);
  // The secret key goes from Nix's stdout into memory only, as in production.
  const secret = await nix(['key', 'generate-secret', '--key-name', 'fleet-test-1'], env);
  key = parseSigningKey(secret);
  const publicText = (await exec('nix', ['key', 'convert-secret-to-public'], { env, input: secret })).stdout.trim();
  expect(key.publicKey.text).toBe(publicText);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fresh = (name: string): string => join(dir, `${name}-${counter++}`);

async function pushTo(cache: string, method: 'zstd' | 'xz' | 'none') {
  // zstd prepares small NARs in worker threads; none does everything on the main thread.
  const narWorkers = method === 'none' ? 0 : 1;
  const log = memoryLog();
  const result = await pushToCache({ paths: closure.infos, store: new DirectoryStore(cache), signingKey: key, compression: { method }, log, concurrency: 4, narWorkers });
  return { ...result, log: log.lines };
}

/** `nix copy` from the cache into a fresh local store, signatures required. */
async function nixCopyFrom(cache: string, trustedKey = key.publicKey.text): Promise<{ code: number; stderr: string; store: string }> {
  const store = fresh('dest');
  const args = ['copy', '--from', `file://${cache}`, '--to', store, '--option', 'trusted-public-keys', trustedKey, '--option', 'require-sigs', 'true', closure.top];
  const result = await exec('nix', args, { env, allowFailure: true, timeoutMs: 120_000 });
  return { code: result.code, stderr: result.stderr, store };
}

describe.each(['zstd', 'xz', 'none'] as const)('a cache pushed with %s compression', (method) => {
  let cache: string;

  beforeAll(async () => {
    cache = fresh(`cache-${method}`);
    const { totals, paths, log } = await pushTo(cache, method);
    expect(paths.filter((p) => p.status !== 'pushed')).toEqual([]);
    expect(totals.pushed).toBe(closure.infos.length);
    // The worker really served (no silent fallback to the main thread), and only where asked to.
    const small = closure.infos.filter((i) => i.narSize <= BUFFERED_NAR_LIMIT).length;
    expect(log.filter((l) => /worker threads/.test(l))).toEqual(method === 'zstd' ? [`${small} NARs prepared in 1 worker threads`] : []);
  });

  it('is fetched whole by real Nix with signatures required, and matches the local store', async () => {
    const { code, stderr, store } = await nixCopyFrom(cache);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const copied = parsePathInfoJson(await nix(['path-info', '--store', store, '--json', '--recursive', closure.top], env)).infos;
    const summary = (infos: typeof copied) => infos.map((i) => [i.path, i.narHash, i.narSize, i.references]).sort();
    expect(summary(copied)).toEqual(summary(closure.infos));
  });

  it('is listed by nix path-info and passes nix store verify against our public key', async () => {
    const listed = parsePathInfoJson(await nix(['path-info', '--store', `file://${cache}`, '--json', '--recursive', closure.top], env)).infos;
    expect(listed.map((i) => i.path).sort()).toEqual(closure.infos.map((i) => i.path).sort());
    for (const info of listed) expect(info.signatures).toEqual([expect.stringMatching(/^fleet-test-1:/)]);
    await expect(nix(['store', 'verify', '--store', `file://${cache}`, '--recursive', '--option', 'trusted-public-keys', key.publicKey.text, closure.top], env)).resolves.toBeDefined();
  });

  it('names NAR files and the Compression line after the method', async () => {
    const ext = { zstd: '.nar.zst', xz: '.nar.xz', none: '.nar' }[method];
    const nars = await readdir(join(cache, 'nar'));
    expect(nars).toHaveLength(closure.infos.length);
    expect(nars.every((n) => n.endsWith(ext) && !n.includes('.tmp'))).toBe(true);
    const info = parseNarInfo(await readFile(join(cache, narInfoKey(closure.top)), 'utf8'));
    expect(info.compression).toBe(method);
  });

  it('is refused by Nix when the signing key is not trusted', async () => {
    const other = parseSigningKey(await nix(['key', 'generate-secret', '--key-name', 'fleet-test-1'], env));
    const { code, stderr } = await nixCopyFrom(cache, other.publicKey.text);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(SIGNATURE_REFUSED);
  });
});

describe('tampering', () => {
  let pristine: string;

  beforeAll(async () => {
    pristine = fresh('cache-pristine');
    await pushTo(pristine, 'zstd');
  });

  async function tampered(change: (cache: string) => Promise<void>): Promise<string> {
    const cache = fresh('cache-tampered');
    await cp(pristine, cache, { recursive: true });
    await change(cache);
    return cache;
  }

  const topNarInfo = (cache: string): string => join(cache, narInfoKey(closure.top));

  it('a changed NarHash is refused (the signature no longer matches)', async () => {
    const other = closure.infos.find((i) => i.path !== closure.top)?.narHash as string;
    const cache = await tampered(async (c) => {
      const text = await readFile(topNarInfo(c), 'utf8');
      await writeFile(topNarInfo(c), text.replace(/^NarHash: .*$/m, `NarHash: ${other}`));
    });
    const { code, stderr, store } = await nixCopyFrom(cache);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(signatureRefusedFor(closure.top));
    await expect(nix(['path-info', '--store', store, closure.top], env)).rejects.toThrow();
  });

  it('a changed Sig is refused', async () => {
    const cache = await tampered(async (c) => {
      const text = await readFile(topNarInfo(c), 'utf8');
      const sig = /^Sig: fleet-test-1:(.*)$/m.exec(text)?.[1] as string;
      const bytes = Buffer.from(sig, 'base64');
      bytes[0] = (bytes[0] as number) ^ 0xff;
      await writeFile(topNarInfo(c), text.replace(sig, bytes.toString('base64')));
    });
    const { code, stderr } = await nixCopyFrom(cache);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(SIGNATURE_REFUSED);
  });

  it('a changed NAR is refused (hash mismatch)', async () => {
    const app = closure.infos.find((i) => i.path.endsWith('-fleet-cache-test-app'));
    expect(app).toBeDefined();
    const cache = await tampered(async (c) => {
      const file = join(c, parseNarInfo(await readFile(join(c, narInfoKey(app?.path as string)), 'utf8')).url);
      const nar = zstdDecompressSync(await readFile(file));
      const at = nar.indexOf('#!/bin/sh');
      expect(at).toBeGreaterThan(0);
      nar.write('#!/bin/XX', at);
      await writeFile(file, zstdCompressSync(nar));
    });
    const { code, stderr } = await nixCopyFrom(cache);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/hash mismatch importing path '.*-fleet-cache-test-app'/);
  });
});

describe('pushing again', () => {
  it('skips every path already in the cache and uploads nothing', async () => {
    const cache = fresh('cache-again');
    await pushTo(cache, 'zstd');
    const before = (await readdir(join(cache, 'nar'))).length;
    const { totals } = await pushTo(cache, 'zstd');
    expect(totals).toMatchObject({ pushed: 0, skipped: closure.infos.length, fileBytes: 0 });
    expect((await readdir(join(cache, 'nar'))).length).toBe(before);
  });

  it('skips paths real Nix already pushed with nix copy', async () => {
    const cache = fresh('cache-nix-copy');
    await nix(['copy', '--to', `file://${cache}?compression=zstd`, closure.top], env);
    const { totals } = await pushTo(cache, 'zstd');
    expect(totals).toMatchObject({ pushed: 0, skipped: closure.infos.length });
  });
});
