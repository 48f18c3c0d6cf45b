import { createHash, randomBytes } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { nix32Encode } from '../../../src/nix/hash.js';
import { fingerprint, narInfoKey, parseNarInfo } from '../../../src/cache/narinfo.js';
import { BUFFERED_NAR_LIMIT } from '../../../src/cache/nar-upload.js';
import { pushToCache, type PushOptions, type PushPathInfo, type PushProgress } from '../../../src/cache/push.js';
import { parsePublicKey, parseSigningKey } from '../../../src/cache/signing.js';
import { StoreError } from '../../../src/cache/stores/store-error.js';
import { sleep } from '../../../src/util/async.js';
import { memoryLog } from '../../../src/util/log.js';
import { nixKeyPair } from '../../support/keys.js';
import { MemoryStore, type StoreHooks } from '../../support/memory-store.js';
import { ANOTHER_PUBLIC_KEY, TEST_PUBLIC_KEY, TEST_SECRET_KEY } from './nix-fixtures.js';

const key = parseSigningKey(TEST_SECRET_KEY);
const storePath = (name: string): string => `/nix/store/${createHash('sha256').update(name).digest('hex').replace(/[^0-9a-d]/g, '').padEnd(32, 'f').slice(0, 32).replace(/e/g, 'f')}-${name}`;

/** A fake closure: each path's "NAR" is arbitrary bytes served by narSource. */
class Closure {
  readonly infos: PushPathInfo[] = [];
  readonly nars = new Map<string, Buffer>();
  /** Paths whose NAR bytes differ from what their info claims. */
  readonly served = new Map<string, Buffer>();

  add(name: string, nar: Buffer | number, refs: string[] = [], extra: Partial<PushPathInfo> = {}): string {
    const path = storePath(name);
    const bytes = typeof nar === 'number' ? randomBytes(nar) : nar;
    this.nars.set(path, bytes);
    this.infos.push({
      path,
      narHash: `sha256:${nix32Encode(createHash('sha256').update(bytes).digest())}`,
      narSize: bytes.length,
      references: refs.map((r) => (r === 'self' ? path : storePath(r))),
      signatures: [],
      ...extra,
    });
    return path;
  }

  source = async function* (this: Closure, path: string): AsyncGenerator<Buffer> {
    const bytes = this.served.get(path) ?? this.nars.get(path);
    if (!bytes) throw new Error(`no such path ${path}`);
    // Several chunks, as a real serializer yields them.
    for (let i = 0; i < bytes.length; i += 100_000) yield bytes.subarray(i, i + 100_000);
  };
}

function push(closure: Closure, store: MemoryStore, extra: Partial<PushOptions> = {}) {
  const log = memoryLog();
  const result = pushToCache({ paths: closure.infos, store, signingKey: key, log, narSource: closure.source.bind(closure), ...extra });
  return { log, result };
}

function statusOf(result: Awaited<ReturnType<typeof pushToCache>>, path: string) {
  return result.paths.find((p) => p.path === path);
}

describe('pushToCache', () => {
  it('uploads every NAR and a signed narinfo per path that real readers can check', async () => {
    const c = new Closure();
    const libc = c.add('libc', BUFFERED_NAR_LIMIT * 3); // streamed
    const lib = c.add('lib', 2000, ['libc']);
    const app = c.add('app', 300, ['lib', 'libc', 'self'], { deriver: storePath('app.drv'), ca: 'fixed:r:sha256:0c3qri7ivbfpahs92wbgab11g99bhylygh130r2kslbns9s8dqkf' });
    const store = new MemoryStore();
    const { result } = push(c, store);
    const { paths, totals } = await result;

    expect(paths.map((p) => [p.path, p.status])).toEqual([
      [libc, 'pushed'],
      [lib, 'pushed'],
      [app, 'pushed'],
    ]);
    expect(totals).toMatchObject({ paths: 3, pushed: 3, skipped: 0, failed: 0, blocked: 0, narBytes: BUFFERED_NAR_LIMIT * 3 + 2300 });
    expect(store.text('nix-cache-info')).toContain('StoreDir: /nix/store');

    for (const info of c.infos) {
      const narinfo = parseNarInfo(store.text(narInfoKey(info.path)) as string);
      const file = store.objects.get(narinfo.url);
      expect(file?.contentType).toBe('application/x-nix-nar');
      expect(narinfo.compression).toBe('zstd');
      expect(narinfo.url).toBe(`nar/${info.narHash.slice('sha256:'.length)}.nar.zst`);
      expect(narinfo.fileSize).toBe(file?.body.length);
      expect(narinfo.fileHash).toBe(`sha256:${nix32Encode(createHash('sha256').update(file?.body as Buffer).digest())}`);
      expect(zstdDecompressSync(file?.body as Buffer).equals(c.nars.get(info.path) as Buffer)).toBe(true);
      expect(narinfo.narHash).toBe(info.narHash);
      expect(narinfo.narSize).toBe(info.narSize);
      expect(narinfo.references).toEqual([...info.references].sort());
      const fp = fingerprint({ storePath: info.path, narHash: info.narHash, narSize: info.narSize, references: info.references });
      expect(narinfo.sigs).toHaveLength(1);
      expect(parsePublicKey(TEST_PUBLIC_KEY).verify(fp, narinfo.sigs[0] as string)).toBe(true);
    }
    const appInfo = parseNarInfo(store.text(narInfoKey(app)) as string);
    expect(appInfo.deriver).toBe(storePath('app.drv'));
    expect(appInfo.ca).toBe('fixed:r:sha256:0c3qri7ivbfpahs92wbgab11g99bhylygh130r2kslbns9s8dqkf');
  });

  it('writes each narinfo only after its NAR and the narinfos of all its references', async () => {
    const c = new Closure();
    c.add('a', 10);
    c.add('b', BUFFERED_NAR_LIMIT + 10, ['a']);
    c.add('c', 30, ['a', 'b']);
    c.add('d', 5, ['c', 'self']);
    c.add('e', 2_000_000);
    // Slow, uneven stores shuffle completion order; the rule must hold anyway.
    const store = new MemoryStore({ before: (_op, k) => sleep(k.length % 7) });
    await push(c, store, { concurrency: 8 }).result;
    const at = (k: string): number => store.log.indexOf(`put ${k}`);
    for (const info of c.infos) {
      const own = at(narInfoKey(info.path));
      const nar = parseNarInfo(store.text(narInfoKey(info.path)) as string).url;
      expect(own).toBeGreaterThan(at(nar));
      for (const ref of info.references) if (ref !== info.path) expect(own).toBeGreaterThan(at(narInfoKey(ref)));
    }
  });

  it('accepts hashes in the SRI form Nix 2.8 prints in path-info', async () => {
    const c = new Closure();
    const path = c.add('sri', 100);
    const info = c.infos[0] as PushPathInfo;
    info.narHash = `sha256-${createHash('sha256').update(c.nars.get(path) as Buffer).digest('base64')}`;
    const store = new MemoryStore();
    const { paths } = await push(c, store).result;
    expect(paths[0]?.status).toBe('pushed');
    expect(parseNarInfo(store.text(narInfoKey(path)) as string).narHash).toMatch(/^sha256:[0-9a-z]{52}$/);
  });

  it('skips paths already in the cache and counts them as available for their dependents', async () => {
    const c = new Closure();
    const old = c.add('old', 100);
    const fresh = c.add('fresh', 100, ['old']);
    const store = new MemoryStore();
    await store.put(narInfoKey(old), 'already there', 'text/x-nix-narinfo');
    const { paths, totals } = await push(c, store).result;
    expect(statusOf({ paths, totals }, old)).toMatchObject({ status: 'skipped', fileSize: 0 });
    expect(statusOf({ paths, totals }, fresh)?.status).toBe('pushed');
    expect(store.text(narInfoKey(old))).toBe('already there');
    expect(totals).toMatchObject({ pushed: 1, skipped: 1 });
  });

  it('pushes nothing the second time', async () => {
    const c = new Closure();
    c.add('a', 100);
    c.add('b', 100, ['a']);
    const store = new MemoryStore();
    await push(c, store).result;
    const writes = store.log.length;
    const { totals } = await push(c, store).result;
    expect(totals).toMatchObject({ pushed: 0, skipped: 2 });
    expect(store.log.length).toBe(writes);
  });

  it.each([
    ['a small (buffered) NAR', 100],
    ['a large (streamed) NAR', BUFFERED_NAR_LIMIT * 2],
  ])('fails a path whose NAR does not match its NarHash, blocks its dependents and leaves no NAR behind: %s', async (_what, size) => {
    const c = new Closure();
    const bad = c.add('bad', size);
    const above = c.add('above', 100, ['bad']);
    const top = c.add('top', 100, ['above']);
    const fine = c.add('fine', 100);
    const tampered = Buffer.from(c.nars.get(bad) as Buffer);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    c.served.set(bad, tampered);
    const store = new MemoryStore();
    const { result, log } = push(c, store);
    const { paths, totals } = await result;
    expect(statusOf({ paths, totals }, bad)?.status).toBe('failed');
    expect(statusOf({ paths, totals }, bad)?.error).toMatch(/the NAR of \/nix\/store\/\w+-bad hashes to sha256:\w+ but Nix recorded NarHash sha256:\w+/);
    expect(statusOf({ paths, totals }, above)).toMatchObject({ status: 'blocked', error: `its reference ${bad} failed` });
    expect(statusOf({ paths, totals }, top)).toMatchObject({ status: 'blocked', error: `its reference ${bad} failed` });
    expect(statusOf({ paths, totals }, fine)?.status).toBe('pushed');
    expect(totals).toMatchObject({ pushed: 1, failed: 1, blocked: 2 });
    expect(store.objects.has(narInfoKey(bad))).toBe(false);
    expect(store.objects.has(narInfoKey(above))).toBe(false);
    // Its NAR never became visible (NARs of blocked paths may have gone up early: harmless orphans).
    expect(store.objects.has(`nar/${(c.infos[0] as PushPathInfo).narHash.slice(7)}.nar.zst`)).toBe(false);
    expect(log.lines.some((l) => l.startsWith('error:') && l.includes('-bad'))).toBe(true);
  });

  it.each([
    ['shorter', (b: Buffer) => b.subarray(0, b.length - 8)],
    ['longer', (b: Buffer) => Buffer.concat([b, Buffer.alloc(8)])],
  ])('fails a path whose NAR is %s than its NarSize', async (_what, change) => {
    for (const size of [100, BUFFERED_NAR_LIMIT * 2]) {
      const c = new Closure();
      const bad = c.add('bad', size);
      c.served.set(bad, change(c.nars.get(bad) as Buffer));
      const store = new MemoryStore();
      const { paths } = await push(c, store).result;
      expect(paths[0]?.error).toMatch(/Nix recorded NarSize/);
      expect([...store.objects.keys()].filter((k) => k.startsWith('nar/'))).toEqual([]);
    }
  });

  it('fails a path whose NAR cannot be read', async () => {
    const c = new Closure();
    const path = c.add('gone', 100);
    c.nars.delete(path);
    const { paths } = await push(c, new MemoryStore()).result;
    expect(paths[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('no such path') });
  });

  it('fails a path whose upload the store refuses, and blocks its dependents', async () => {
    const c = new Closure();
    const bad = c.add('bad', BUFFERED_NAR_LIMIT * 2);
    const above = c.add('above', 10, ['bad']);
    const badKey = `nar/${(c.infos[0] as PushPathInfo).narHash.slice(7)}.nar.zst`;
    const store = new MemoryStore({
      before: (op, k) => {
        if (op === 'putStream' && k === badKey) throw new StoreError('PUT denied', { status: 403 });
      },
    });
    const { paths } = await push(c, store).result;
    expect(paths.map((p) => [p.path, p.status])).toEqual([
      [bad, 'failed'],
      [above, 'blocked'],
    ]);
    expect(paths[0]?.error).toContain('PUT denied');
    expect(store.objects.has(narInfoKey(above))).toBe(false);
  });

  it('retries a streamed upload the store failed transiently', async () => {
    const c = new Closure();
    c.add('flaky', BUFFERED_NAR_LIMIT * 2);
    let attempts = 0;
    const store = new MemoryStore({
      before: (op) => {
        if (op === 'putStream' && ++attempts === 1) throw new StoreError('503 Slow Down', { status: 503, retryable: true });
      },
    });
    const { paths } = await push(c, store).result;
    expect(paths[0]?.status).toBe('pushed');
    expect(attempts).toBe(2);
  });

  it('fails a path whose narinfo cannot be written, and blocks its dependents', async () => {
    const c = new Closure();
    const bad = c.add('bad', 10);
    c.add('above', 10, ['bad']);
    const store = new MemoryStore({
      before: (op, k) => {
        if (op === 'put' && k === narInfoKey(bad)) throw new Error('disk full');
      },
    });
    const { paths } = await push(c, store).result;
    expect(paths.map((p) => p.status)).toEqual(['failed', 'blocked']);
    expect(paths[0]?.error).toBe('could not write its narinfo: disk full');
  });

  it('fails a path the cache cannot be asked about', async () => {
    const c = new Closure();
    const bad = c.add('unknown', 10);
    c.add('ok', 10);
    const store = new MemoryStore({
      before: (op, k) => {
        if (op === 'has' && k === narInfoKey(bad)) throw new Error('connection refused');
      },
    });
    const { paths } = await push(c, store).result;
    expect(paths.map((p) => p.status)).toEqual(['failed', 'pushed']);
    expect(paths[0]?.error).toMatch(/could not check whether memory:\/\/test has it: connection refused/);
  });

  it('does not push paths signed by an upstream key, yet pushes what depends on them', async () => {
    const upstream = parseSigningKey(TEST_SECRET_KEY);
    const c = new Closure();
    const glibc = c.add('glibc', 1000);
    const g = c.infos[0] as PushPathInfo;
    g.signatures = [upstream.sign(fingerprint({ storePath: g.path, narHash: g.narHash, narSize: g.narSize, references: g.references }))];
    const forged = c.add('forged', 1000, [], { signatures: ['test-1:' + Buffer.alloc(64, 1).toString('base64')] });
    const app = c.add('app', 100, ['glibc', 'forged']);
    const store = new MemoryStore();
    // Our key signs under another name, so the forged upstream signature stays beside ours.
    const ourKey = parseSigningKey(`ours-1:${TEST_SECRET_KEY.slice('test-1:'.length)}`);
    const { paths } = await push(c, store, { skipUpstreamKeys: [parsePublicKey(TEST_PUBLIC_KEY), parsePublicKey(ANOTHER_PUBLIC_KEY)], signingKey: ourKey }).result;
    expect(paths.map((p) => [p.path, p.status])).toEqual([
      [glibc, 'upstream'],
      [forged, 'pushed'],
      [app, 'pushed'],
    ]);
    expect(store.objects.has(narInfoKey(glibc))).toBe(false);
    // The path keeps its own signatures next to ours.
    expect(parseNarInfo(store.text(narInfoKey(forged)) as string).sigs).toHaveLength(2);
  });

  it('replaces an old signature by a key of the same name', async () => {
    const c = new Closure();
    const path = c.add('signed', 10, [], { signatures: [`test-1:${Buffer.alloc(64, 2).toString('base64')}`, 'cache.nixos.org-1:abc'] });
    const store = new MemoryStore();
    await push(c, store).result;
    const sigs = parseNarInfo(store.text(narInfoKey(path)) as string).sigs;
    expect(sigs).toHaveLength(2);
    expect(sigs).toContain('cache.nixos.org-1:abc');
    expect(sigs.find((s) => s.startsWith('test-1:'))).not.toBe(`test-1:${Buffer.alloc(64, 2).toString('base64')}`);
  });

  it('pushes unsigned narinfos without a key, and warns', async () => {
    const c = new Closure();
    const path = c.add('plain', 10);
    const store = new MemoryStore();
    const { result, log } = push(c, store, { signingKey: undefined });
    await result;
    expect(parseNarInfo(store.text(narInfoKey(path)) as string).sigs).toEqual([]);
    expect(log.lines.some((l) => l.startsWith('warning: No signing key'))).toBe(true);
  });

  it('blocks paths whose reference is neither given nor cached', async () => {
    const c = new Closure();
    const orphan = c.add('orphan', 10, ['not-given']);
    const { paths } = await push(c, new MemoryStore()).result;
    expect(paths).toEqual([expect.objectContaining({ path: orphan, status: 'blocked', error: `its reference ${storePath('not-given')} is not in the cache` })]);
  });

  it('fails paths with unusable path infos, and nothing else', async () => {
    const c = new Closure();
    c.add('bad-hash', 10, [], { narHash: 'sha256:nonsense' });
    c.add('bad-size', 10, [], { narSize: 0 });
    c.add('good', 10);
    const { paths } = await push(c, new MemoryStore()).result;
    expect(paths.map((p) => p.status)).toEqual(['failed', 'failed', 'pushed']);
    expect(paths[0]?.error).toMatch(/NarHash cannot be read/);
    expect(paths[1]?.error).toMatch(/NarSize 0 is not a positive number/);
  });

  it('lists each path once even when given twice', async () => {
    const c = new Closure();
    c.add('twice', 10);
    c.infos.push({ ...(c.infos[0] as PushPathInfo) });
    const { paths } = await push(c, new MemoryStore()).result;
    expect(paths).toHaveLength(1);
  });

  it('refuses a cache for another store directory before uploading anything', async () => {
    const c = new Closure();
    c.add('x', 10);
    const store = new MemoryStore();
    await store.put('nix-cache-info', 'StoreDir: /gnu/store\n', 'text/plain');
    await expect(push(c, store).result).rejects.toThrow(/not \/nix\/store/);
    expect(store.log).toEqual(['put nix-cache-info']);
  });

  it('reports progress once per path', async () => {
    const c = new Closure();
    for (let i = 0; i < 20; i++) c.add(`p${i}`, 50, i > 0 ? [`p${i - 1}`] : []);
    const progress: PushProgress[] = [];
    await push(c, new MemoryStore(), { onProgress: (p) => progress.push(p) }).result;
    expect(progress).toHaveLength(20);
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(progress.map((p) => p.result.path)).size).toBe(20);
    expect(progress.every((p) => p.total === 20 && p.result.status === 'pushed')).toBe(true);
  });

  it('keeps at most `concurrency` uploads and narinfo writes in flight', async () => {
    const c = new Closure();
    for (let i = 0; i < 60; i++) c.add(`p${i}`, 100 + i, i % 3 ? [`p${i - 1}`] : []);
    let writes = 0;
    let maxWrites = 0;
    const hooks: StoreHooks = {
      before: async (op) => {
        if (op !== 'put' && op !== 'putStream') return;
        writes++;
        maxWrites = Math.max(maxWrites, writes);
        await sleep(2);
        writes--;
      },
    };
    const { totals } = await push(c, new MemoryStore(hooks), { concurrency: 4, checkConcurrency: 4 }).result;
    expect(totals.pushed).toBe(60);
    expect(maxWrites).toBeLessThanOrEqual(4);
    expect(maxWrites).toBeGreaterThan(1);
  });

  it('streams a large NAR with backpressure: the source stays a bounded distance ahead of the store', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const chunks = 64;
    const nar = Buffer.alloc(0);
    const c = new Closure();
    const path = c.add('huge', nar);
    const info = c.infos[0] as PushPathInfo;
    const hash = createHash('sha256');
    for (let i = 0; i < chunks; i++) hash.update(chunk);
    info.narHash = `sha256:${nix32Encode(hash.digest())}`;
    info.narSize = chunk.length * chunks;
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = async function* (): AsyncGenerator<Buffer> {
      for (let i = 0; i < chunks; i++) {
        produced += chunk.length;
        maxAhead = Math.max(maxAhead, produced - consumed);
        yield chunk;
      }
    };
    const store = new MemoryStore();
    store.putStream = async (key, body) => {
      let bytes = 0;
      for await (const part of body) {
        bytes += (part as Buffer).length;
        consumed += (part as Buffer).length;
        await sleep(1);
      }
      store.objects.set(key, { body: Buffer.alloc(0), contentType: '', modifiedAt: new Date() });
      return { bytes };
    };
    const { paths } = await pushToCache({ paths: [info], store, signingKey: key, log: memoryLog(), compression: { method: 'none' }, narSource: source });
    expect(paths[0]).toMatchObject({ path, status: 'pushed', fileSize: 64 * 1024 * 1024 });
    expect(maxAhead).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('pushToCache reporting', () => {
  it('logs the first failures as errors and sums up the rest', async () => {
    const c = new Closure();
    for (let i = 0; i < 25; i++) c.add(`f${i}`, 10);
    const store = new MemoryStore({
      before: (op, k) => {
        if (op === 'put' && k.startsWith('nar/')) throw new Error('403 Forbidden');
      },
    });
    const { result, log } = push(c, store);
    const { totals } = await result;
    expect(totals.failed).toBe(25);
    const errors = log.lines.filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(11);
    expect(errors[10]).toBe('error: 15 more paths failed (details in the debug log)');
  });

  it('carries on when the progress callback throws', async () => {
    const c = new Closure();
    c.add('a', 10);
    c.add('b', 10, ['a']);
    const { totals } = await push(c, new MemoryStore(), {
      onProgress: () => {
        throw new Error('callback bug');
      },
    }).result;
    expect(totals.pushed).toBe(2);
  });

  it('names an unreadable NAR as the cause when streaming, not the store', async () => {
    const c = new Closure();
    const path = c.add('unreadable', BUFFERED_NAR_LIMIT * 2);
    c.served.set(path, Buffer.alloc(0));
    c.source = async function* (this: Closure) {
      yield Buffer.alloc(1000);
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    };
    // Like the real stores, this one wraps a body failure in its own error.
    const store = new MemoryStore();
    const original = store.putStream.bind(store);
    store.putStream = (key, body, type) => original(key, body, type).catch(() => Promise.reject(new Error(`could not write ${key}: the data being written failed`)));
    const { paths } = await push(c, store).result;
    expect(paths[0]).toMatchObject({ status: 'failed', error: 'EIO: i/o error, read' });
  });
});

describe('pushToCache edge cases', () => {
  it('does nothing but ensure nix-cache-info for an empty list', async () => {
    const store = new MemoryStore();
    const { paths, totals } = await pushToCache({ paths: [], store, signingKey: key, log: memoryLog() });
    expect(paths).toEqual([]);
    expect(totals).toMatchObject({ paths: 0, pushed: 0 });
    expect(store.log).toEqual(['put nix-cache-info']);
  });

  it('settles everything when more lanes than paths wait for work', async () => {
    const c = new Closure();
    c.add('only', 10);
    const { totals } = await push(c, new MemoryStore(), { concurrency: 64, checkConcurrency: 1 }).result;
    expect(totals.pushed).toBe(1);
  });
});

describe('pushToCache with verifyExisting', () => {
  const other = parseSigningKey(nixKeyPair('other-1').secret);
  const narKey = (info: PushPathInfo): string => `nar/${info.narHash.slice('sha256:'.length)}.nar.zst`;
  const infoOf = (c: Closure, path: string): PushPathInfo => c.infos.find((i) => i.path === path) as PushPathInfo;
  const fp = (info: PushPathInfo): string => fingerprint({ storePath: info.path, narHash: info.narHash, narSize: info.narSize, references: info.references });

  /**
   * A closure pushed whole, then damaged: `gone`'s NAR deleted, `foreign`'s narinfo signed by
   * another key only, `garbled`'s narinfo unreadable. `top` depends on all three; `fine` is intact.
   */
  async function damagedCache(hooks: StoreHooks = {}) {
    const c = new Closure();
    const gone = c.add('gone', BUFFERED_NAR_LIMIT * 2); // streamed when re-pushed
    const foreign = c.add('foreign', 300);
    const garbled = c.add('garbled', 400);
    const fine = c.add('fine', 500);
    const top = c.add('top', 100, ['gone', 'foreign', 'garbled', 'fine']);
    const store = new MemoryStore(hooks);
    await push(c, store).result;
    await store.delete(narKey(infoOf(c, gone)));
    const foreignText = (store.text(narInfoKey(foreign)) as string).replace(/^Sig: .*$/m, `Sig: ${other.sign(fp(infoOf(c, foreign)))}`);
    await store.put(narInfoKey(foreign), foreignText, 'text/x-nix-narinfo');
    await store.put(narInfoKey(garbled), 'StorePath: /nix/store/oops\n', 'text/x-nix-narinfo');
    store.log.length = 0;
    return { c, store, gone, foreign, garbled, fine, top };
  }

  /** Whether the cache's entry for a path is one a client requiring our signature can fetch. */
  function fetchable(store: MemoryStore, info: PushPathInfo): boolean {
    const text = store.text(narInfoKey(info.path));
    let narInfo;
    try {
      narInfo = parseNarInfo(text ?? '');
    } catch {
      return false;
    }
    return store.objects.has(narInfo.url) && narInfo.sigs.some((s) => key.publicKey.verify(fp(info), s));
  }

  it('repairs each broken entry and says why, leaving the intact ones untouched', async () => {
    const { c, store, gone, foreign, garbled, fine, top } = await damagedCache();
    expect(c.infos.filter((i) => !fetchable(store, i)).map((i) => i.path)).toEqual([gone, foreign, garbled]);
    const { result, log } = push(c, store, { verifyExisting: true });
    const { paths, totals } = await result;

    expect(paths.map((p) => [p.path, p.status, p.repair?.label])).toEqual([
      [gone, 'repaired', 'NAR missing, re-pushed'],
      [foreign, 'repaired', 're-signed'],
      [garbled, 'repaired', 'narinfo unreadable, re-pushed'],
      [fine, 'skipped', undefined],
      [top, 'skipped', undefined],
    ]);
    expect(statusOf({ paths, totals }, gone)?.repair?.detail).toBe(`${narKey(infoOf(c, gone))} is not in the cache`);
    expect(statusOf({ paths, totals }, foreign)?.repair?.detail).toBe('no valid signature by test-1 (signed by other-1)');
    expect(statusOf({ paths, totals }, garbled)?.repair?.detail).toMatch(/^\w{32}\.narinfo is corrupt: StorePath "oops" is not a store path name$/);
    expect(totals).toMatchObject({ pushed: 0, repaired: 3, skipped: 2, failed: 0, narBytes: BUFFERED_NAR_LIMIT * 2 + 400 });
    expect(statusOf({ paths, totals }, foreign)?.fileSize).toBe(0);

    expect(c.infos.filter((i) => !fetchable(store, i))).toEqual([]);
    // The re-signed narinfo keeps the other key's signature and points at the NAR it had.
    const resigned = parseNarInfo(store.text(narInfoKey(foreign)) as string);
    expect(resigned.sigs.filter((s) => other.publicKey.verify(fp(infoOf(c, foreign)), s))).toHaveLength(1);
    expect(resigned.sigs).toHaveLength(2);
    // Only the repairs were written: the NARs first, then their narinfos.
    const garbledInfo = infoOf(c, garbled);
    expect(store.log.sort()).toEqual([`put ${narInfoKey(foreign)}`, `put ${narInfoKey(garbled)}`, `put ${narInfoKey(gone)}`, `put ${narKey(garbledInfo)}`, `put ${narKey(infoOf(c, gone))}`].sort());
    expect(log.lines).toContain('verify-cache: checking that every narinfo already in the cache has its NAR and a valid signature by test-1');
    expect(log.lines).toContainEqual(expect.stringMatching(/^2 already in the cache, 0 served upstream, 3 to repair, 0 to push$/));
  });

  it('writes a repaired narinfo only after its NAR, and a dependent repair only after its references', async () => {
    const c = new Closure();
    const leaf = c.add('leaf', BUFFERED_NAR_LIMIT + 10);
    const mid = c.add('mid', 30, ['leaf']);
    const top = c.add('top', 40, ['mid', 'leaf']);
    // Slow, uneven stores shuffle completion order; the rule must hold anyway.
    const store = new MemoryStore({ before: (_op, k) => sleep(k.length % 5) });
    await push(c, store).result;
    await store.delete(narKey(infoOf(c, leaf)));
    for (const path of [mid, top]) await store.put(narInfoKey(path), (store.text(narInfoKey(path)) as string).replace(/^Sig: .*$/m, ''), 'text/x-nix-narinfo');
    store.log.length = 0;
    const { paths } = await push(c, store, { verifyExisting: true, concurrency: 8 }).result;
    expect(paths.map((p) => p.repair?.label)).toEqual(['NAR missing, re-pushed', 're-signed', 're-signed']);
    const at = (k: string): number => store.log.indexOf(`put ${k}`);
    expect(at(narKey(infoOf(c, leaf)))).toBeLessThan(at(narInfoKey(leaf)));
    expect(at(narInfoKey(leaf))).toBeLessThan(at(narInfoKey(mid)));
    expect(at(narInfoKey(mid))).toBeLessThan(at(narInfoKey(top)));
  });

  it('re-pushes, rather than signs, an entry whose NarHash is not the local one', async () => {
    const c = new Closure();
    const path = c.add('rebuilt', 200);
    const store = new MemoryStore();
    const stale = { ...(infoOf(c, path) as PushPathInfo), narHash: `sha256:${nix32Encode(createHash('sha256').update('an older build').digest())}` };
    await store.put(narKey(stale), 'old nar', 'application/x-nix-nar');
    await store.put(narInfoKey(path), `StorePath: ${path}\nURL: ${narKey(stale)}\nCompression: zstd\nNarHash: ${stale.narHash}\nNarSize: ${stale.narSize}\nReferences: \nSig: ${other.sign(fp(stale))}\n`, 'text/x-nix-narinfo');
    const { paths } = await push(c, store, { verifyExisting: true }).result;
    expect(paths[0]).toMatchObject({ status: 'repaired', repair: { reason: 'narinfo-mismatch', label: 'narinfo disagrees with the local path, re-pushed' } });
    expect(paths[0]?.repair?.detail).toMatch(/^its NarHash sha256:\w+ is not the local sha256:\w+$/);
    expect(fetchable(store, infoOf(c, path))).toBe(true);
    expect(parseNarInfo(store.text(narInfoKey(path)) as string).url).toBe(narKey(infoOf(c, path)));
  });

  it('without verifyExisting, trusts every narinfo it finds and writes nothing', async () => {
    const { c, store } = await damagedCache();
    const { paths, totals } = await push(c, store).result;
    expect(paths.every((p) => p.status === 'skipped' && p.repair === undefined)).toBe(true);
    expect(totals.repaired).toBe(0);
    expect(store.log).toEqual([]);
  });

  it('without a signing key, checks only that the NARs are there, and says so', async () => {
    const { c, store, gone, garbled } = await damagedCache();
    const { result, log } = push(c, store, { verifyExisting: true, signingKey: undefined });
    const { paths } = await result;
    expect(paths.filter((p) => p.status === 'repaired').map((p) => p.path)).toEqual([gone, garbled]);
    expect(log.lines).toContain('verify-cache: no signing key, so only checking that every narinfo already in the cache has its NAR (signatures are not checked)');
  });

  it('fails a repair whose NAR upload the store refuses, naming both, and leaves the old narinfo as it was', async () => {
    let refuse = false;
    const { c, store, gone, top } = await damagedCache({
      before: (op, k) => {
        if (refuse && (op === 'putStream' || op === 'put') && k.startsWith('nar/')) throw new StoreError('PUT nar/… failed: 500 Internal Server Error', { status: 500 });
      },
    });
    refuse = true;
    // top needs repair too (its narinfo lost our signature): it must wait for gone, and be blocked with it.
    const topText = (store.text(narInfoKey(top)) as string).replace(/^Sig: .*$/m, '');
    await store.put(narInfoKey(top), topText, 'text/x-nix-narinfo');
    const goneText = store.text(narInfoKey(gone));
    const { paths, totals } = await push(c, store, { verifyExisting: true }).result;
    expect(statusOf({ paths, totals }, gone)).toMatchObject({ status: 'failed', repair: { reason: 'nar-missing' } });
    expect(statusOf({ paths, totals }, gone)?.error).toMatch(/^its cache entry is broken \(nar\/\w+\.nar\.zst is not in the cache\) and re-uploading its NAR failed: .*500 Internal Server Error/);
    // garbled's re-push is refused too: either failure blocks top.
    expect(statusOf({ paths, totals }, top)).toMatchObject({ status: 'blocked', error: expect.stringMatching(/^its reference \/nix\/store\/\w+-(gone|garbled) failed$/), repair: { reason: 'unsigned' } });
    expect(store.text(narInfoKey(gone))).toBe(goneText);
    expect(store.text(narInfoKey(top))).toBe(topText);
    expect(totals).toMatchObject({ repaired: 1, failed: 2, blocked: 1 });
  });

  it('keeps at most checkConcurrency verifications in flight', async () => {
    const c = new Closure();
    for (let i = 0; i < 40; i++) c.add(`p${i}`, 50);
    const store = new MemoryStore();
    await push(c, store).result;
    let reads = 0;
    let maxReads = 0;
    const slow = new MemoryStore({
      before: async (op) => {
        if (op !== 'get' && op !== 'has') return;
        reads++;
        maxReads = Math.max(maxReads, reads);
        await sleep(2);
        reads--;
      },
    });
    for (const [k, v] of store.objects) slow.objects.set(k, v);
    const { totals } = await push(c, slow, { verifyExisting: true, checkConcurrency: 3 }).result;
    expect(totals.skipped).toBe(40);
    expect(maxReads).toBeLessThanOrEqual(3);
    expect(maxReads).toBeGreaterThan(1);
  });
});
