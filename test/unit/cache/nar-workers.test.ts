import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { nix32Encode } from '../../../src/nix/hash.js';
import { narChunks } from '../../../src/cache/nar.js';
import { NarMismatchError } from '../../../src/cache/nar-mismatch.js';
import { uploadNar } from '../../../src/cache/nar-upload.js';
import { NarWorkerPool, NarWorkersUnavailable, type NarJob } from '../../../src/cache/nar-workers.js';
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
