import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { narChunks } from '../../src/cache/nar.js';
import { hashNar } from '../../src/cache/nar-upload.js';
import { narSync } from '../../src/cache/nar-sync.js';
import { NarWorkerPool } from '../../src/cache/nar-workers.js';
import { spawnProcess } from '../../src/util/exec.js';
import { buildTestClosure, type TestClosure } from './cache-closure.js';

/** `nix-store --dump`, the reference serializer, as raw bytes. */
function nixStoreDump(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawnProcess('nix-store', ['--dump', path]);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`nix-store --dump ${path} failed: ${err}`))));
    child.stdin.end();
  });
}

async function ours(path: string | Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of narChunks(path)) parts.push(chunk);
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The NAR as a worker thread of the pool serializes it (uncompressed), checked against `expected`. */
async function inWorker(pool: NarWorkerPool, path: string, expected: Buffer): Promise<Buffer> {
  const prepared = await pool.prepare({ path, expectedHash: createHash('sha256').update(expected).digest(), expectedSize: expected.length, method: 'none', level: 0 });
  return prepared.file;
}

let dir: string;
let closure: TestClosure;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-cache-nar-'));
  closure = await buildTestClosure(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the NAR serializers against nix-store --dump', () => {
  it('matches byte for byte on a tree with every kind of entry, in-process and in the worker pool', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'nested', 'deeper', 'deepest'), { recursive: true });
    await mkdir(join(root, 'empty-dir'));
    await writeFile(join(root, 'empty-file'), '');
    await writeFile(join(root, 'eight'), '12345678');
    await writeFile(join(root, 'nested', 'deeper', 'deepest', 'f'), 'deep\n');
    await writeFile(join(root, 'run'), '#!/bin/sh\necho hi\n');
    await chmod(join(root, 'run'), 0o755);
    await writeFile(join(root, 'group-exec-only'), 'x');
    await chmod(join(root, 'group-exec-only'), 0o654);
    await symlink('nested/deeper', join(root, 'relative'));
    await symlink('/nix/store/does-not-exist', join(root, 'dangling'));
    await symlink('../', join(root, 'nested', 'up'));
    for (const name of ['B', 'a', 'a.b', 'a-b', '_', 'Z', '0', 'aa', 'ä', 'é', '.hidden']) await writeFile(join(root, 'nested', name), name);
    await writeFile(Buffer.from(`${root}/raw-\xff-name`, 'latin1'), 'not utf-8');
    await writeFile(join(root, 'big'), Buffer.alloc(3 * 1024 * 1024 + 5, 'big file '));
    const expected = await nixStoreDump(root);
    const actual = await ours(root);
    expect(actual.length).toBe(expected.length);
    expect(sha256(actual)).toBe(sha256(expected));
    expect(actual.equals(expected)).toBe(true);
    expect(narSync(root).equals(expected)).toBe(true);
    const pool = new NarWorkerPool(1);
    try {
      expect((await inWorker(pool, root, expected)).equals(expected)).toBe(true);
      expect(pool.stats).toMatchObject({ prepared: 1, refused: 0 });
    } finally {
      await pool.close();
    }
  });

  it('matches on a single file and a single symlink', async () => {
    await writeFile(join(dir, 'lonely'), 'one file');
    await symlink('lonely', join(dir, 'lonely-link'));
    for (const path of [join(dir, 'lonely'), join(dir, 'lonely-link')]) {
      const expected = await nixStoreDump(path);
      expect((await ours(path)).equals(expected)).toBe(true);
      expect(narSync(path).equals(expected)).toBe(true);
    }
  });

  it('matches every path of a real closure, in-process and in the worker pool, and reproduces the NarHash and NarSize Nix recorded', async () => {
    expect(closure.infos.length).toBeGreaterThanOrEqual(6);
    const pool = new NarWorkerPool(1);
    try {
      for (const info of closure.infos) {
        const expected = await nixStoreDump(info.path);
        expect((await ours(info.path)).equals(expected)).toBe(true);
        expect(narSync(info.path).equals(expected)).toBe(true);
        expect((await inWorker(pool, info.path, expected)).equals(expected)).toBe(true);
        await expect(hashNar(info.path)).resolves.toEqual({ narHash: info.narHash, narSize: info.narSize });
      }
      expect(pool.stats).toMatchObject({ prepared: closure.infos.length, refused: 0 });
    } finally {
      await pool.close();
    }
  });
});
