import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { nix32Encode } from '../../../src/nix/hash.js';
import { narChunks } from '../../../src/cache/nar.js';
import { NarMismatchError } from '../../../src/cache/nar-mismatch.js';
import { uploadNar } from '../../../src/cache/nar-upload.js';
import { locateNarWorker, NAR_WORKER_BUNDLE, NarWorkerPool, NarWorkersUnavailable, type NarJob } from '../../../src/cache/nar-workers.js';
import { MemoryStore } from '../../support/memory-store.js';

async function narOf(path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of narChunks(path)) parts.push(chunk);
  return Buffer.concat(parts);
}
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

let dir: string;
let tree: string;
let pool: NarWorkerPool;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-nar-workers-'));
  tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub', 'empty'), { recursive: true });
  await writeFile(join(tree, 'B'), 'upper');
  await writeFile(join(tree, 'a'), '');
  await writeFile(join(tree, 'sub', 'eight'), '12345678');
  await writeFile(join(tree, 'run'), '#!/bin/sh\n');
  await chmod(join(tree, 'run'), 0o755);
  await symlink('sub/eight', join(tree, 'link'));
  await writeFile(Buffer.from(`${tree}/raw-\xff`, 'latin1'), 'bytes');
  await writeFile(join(dir, 'single'), 'one file');
  await symlink('single', join(dir, 'single-link'));
  pool = new NarWorkerPool(2);
});

afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

const jobFor = async (path: string, method: 'zstd' | 'none' = 'none'): Promise<NarJob> => {
  const nar = await narOf(path);
  return { path, expectedHash: sha256(nar), expectedSize: nar.length, method, level: 3 };
};

describe('NarWorkerPool', () => {
  it.each(['tree', 'single', 'single-link'])('serializes %s exactly as the in-process serializer', async (name) => {
    const path = join(dir, name);
    const nar = await narOf(path);
    const prepared = await pool.prepare(await jobFor(path));
    expect(prepared.file.equals(nar)).toBe(true);
    expect(prepared.fileHash).toBe(`sha256:${nix32Encode(sha256(nar))}`);
  });

  it('compresses with zstd and hashes the compressed file', async () => {
    const job = await jobFor(tree, 'zstd');
    const prepared = await pool.prepare(job);
    expect(sha256(zstdDecompressSync(prepared.file)).equals(job.expectedHash)).toBe(true);
    expect(prepared.fileHash).toBe(`sha256:${nix32Encode(sha256(prepared.file))}`);
  });

  it('serves many jobs at once', async () => {
    const job = await jobFor(tree, 'zstd');
    const results = await Promise.all(Array.from({ length: 50 }, () => pool.prepare(job)));
    expect(new Set(results.map((r) => r.fileHash)).size).toBe(1);
  });

  it('refuses a NAR whose hash differs from the one Nix recorded', async () => {
    const job = await jobFor(tree);
    const wrong = Buffer.from(job.expectedHash);
    wrong[0] = (wrong[0] as number) ^ 1;
    const error = await pool.prepare({ ...job, expectedHash: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NarMismatchError);
    expect((error as Error).message).toContain(`hashes to sha256:${nix32Encode(job.expectedHash)} but Nix recorded NarHash sha256:${nix32Encode(wrong)}`);
  });

  it('refuses a NAR bigger or smaller than recorded, stopping early when bigger', async () => {
    const job = await jobFor(tree);
    await expect(pool.prepare({ ...job, expectedSize: 100 })).rejects.toThrow(/is more than 100 bytes but Nix recorded NarSize 100/);
    await expect(pool.prepare({ ...job, expectedSize: job.expectedSize + 8 })).rejects.toThrow(new RegExp(`is ${job.expectedSize} bytes but Nix recorded NarSize ${job.expectedSize + 8}`));
  });

  it('reports unreadable paths and file types a NAR cannot hold', async () => {
    await expect(pool.prepare({ ...(await jobFor(tree)), path: join(dir, 'missing') })).rejects.toMatchObject({ code: 'ENOENT' });
    const sockDir = join(dir, 'with-socket');
    await mkdir(sockDir);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(sockDir, 'sock'), resolve));
    try {
      await expect(pool.prepare({ ...(await jobFor(tree)), path: sockDir })).rejects.toThrow(/sock has a file type a NAR cannot hold/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('does the work in its threads, not by falling back', async () => {
    const counted = new NarWorkerPool(2);
    try {
      const job = await jobFor(tree, 'zstd');
      await Promise.all(Array.from({ length: 10 }, () => counted.prepare(job)));
      expect(counted.stats).toEqual({ threads: 2, prepared: 10, refused: 0 });
    } finally {
      await counted.close();
    }
  });

  it('says it is unavailable once closed, and uploadNar then does the work itself', async () => {
    const closed = new NarWorkerPool(1);
    await closed.close();
    await expect(closed.prepare(await jobFor(tree))).rejects.toBeInstanceOf(NarWorkersUnavailable);
    const job = await jobFor(tree);
    const store = new MemoryStore();
    const result = await uploadNar({ path: tree, narHash: `sha256:${nix32Encode(job.expectedHash)}`, narSize: job.expectedSize, store, compression: { method: 'zstd' }, workers: closed });
    expect(sha256(zstdDecompressSync(store.objects.get(result.key)?.body as Buffer)).equals(job.expectedHash)).toBe(true);
  });
});

describe('NarWorkerPool without a worker', () => {
  it('refuses every job when its worker cannot be found, saying why, and uploadNar does the work itself', async () => {
    const missing = new NarWorkerPool(1, () => {
      throw new NarWorkersUnavailable('no worker here');
    });
    const job = await jobFor(tree, 'zstd');
    await expect(missing.prepare(job)).rejects.toThrow(/the NAR workers could not start: no worker here/);
    const store = new MemoryStore();
    await uploadNar({ path: tree, narHash: `sha256:${nix32Encode(job.expectedHash)}`, narSize: job.expectedSize, store, compression: { method: 'zstd' }, workers: missing });
    expect(store.objects.size).toBe(1);
    expect(missing.stats).toEqual({ threads: 0, prepared: 0, refused: 2, why: 'the NAR workers could not start: no worker here' });
    await missing.close();
  });

  it('refuses the jobs of a worker that fails to load', async () => {
    const broken = new NarWorkerPool(1, () => ({ url: pathToFileURL(join(dir, 'no-such-worker.js')) }));
    try {
      await expect(broken.prepare(await jobFor(tree))).rejects.toBeInstanceOf(NarWorkersUnavailable);
      expect(broken.stats).toMatchObject({ threads: 1, prepared: 0, refused: 1, why: expect.stringContaining('a NAR worker failed') });
    } finally {
      await broken.close();
    }
  });
});

describe('locateNarWorker', () => {
  it('runs the TypeScript source with tsx when running from the sources', () => {
    const entry = locateNarWorker();
    expect(entry.url.href).toMatch(/\/src\/cache\/nar-worker\.ts$/);
    expect(entry.execArgv).toEqual(['--import', expect.stringMatching(/^file:.*\/tsx\/dist\/esm\/index\.mjs$/)]);
  });

  it('runs the bundled worker beside a bundle as it is', async () => {
    const dist = join(dir, 'dist');
    await mkdir(dist);
    await writeFile(join(dist, NAR_WORKER_BUNDLE), '');
    expect(locateNarWorker(pathToFileURL(join(dist, 'index.js')).href)).toEqual({ url: pathToFileURL(join(dist, NAR_WORKER_BUNDLE)) });
  });

  it('says so when a bundle has no worker beside it', () => {
    expect(() => locateNarWorker(pathToFileURL(join(dir, 'index.js')).href)).toThrow(new RegExp(`no ${NAR_WORKER_BUNDLE} beside`));
  });
});
