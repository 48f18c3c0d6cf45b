import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileBinaryCacheStore } from '../../src/cache/stores/file.js';
import { StoreError } from '../../src/cache/stores/store-error.js';
import { generatedStream, sha256OfFile } from '../support/servers/index.js';
import { exec } from '../../src/util/exec.js';
import { expectObjectsDatedWhenWritten } from '../support/store-dates.js';

const MiB = 1024 * 1024;
let dir: string;
let store: FileBinaryCacheStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-file-store-'));
  store = new FileBinaryCacheStore(join(dir, 'cache'));
});

afterEach(async () => {
  await chmod(dir, 0o755).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function allFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1)).sort();
}

describe('FileBinaryCacheStore', () => {
  test('url is the file:// URL of the directory', () => {
    expect(store.url).toBe(`file://${dir}/cache`);
  });

  test('round-trips objects, creating directories on demand', async () => {
    await store.put('nix-cache-info', 'StoreDir: /nix/store\n', 'text/x-nix-cache-info');
    await store.put('fleet/prod/web-1.json', Buffer.from('{}'), 'application/json');
    expect((await store.get('nix-cache-info'))?.toString()).toBe('StoreDir: /nix/store\n');
    expect(await store.has('fleet/prod/web-1.json')).toBe(true);
    await store.put('fleet/prod/web-1.json', '{"v":2}', 'application/json');
    expect((await store.get('fleet/prod/web-1.json'))?.toString()).toBe('{"v":2}');
    expect(await allFiles(join(dir, 'cache'))).toEqual(['fleet/prod/web-1.json', 'nix-cache-info']);
  });

  test('dates an object by when the store wrote it (the wave gate checks host clocks against it)', async () => {
    await expectObjectsDatedWhenWritten(store);
  });

  test('a pipe or a device at a key fails at once instead of blocking the reader', async () => {
    await mkdir(join(dir, 'cache', 'fleet', 'status'), { recursive: true });
    await exec('mkfifo', [join(dir, 'cache', 'fleet', 'status', 'pipe.json')]);
    await symlink('/dev/zero', join(dir, 'cache', 'fleet', 'status', 'zero.json'));
    for (const key of ['fleet/status/pipe.json', 'fleet/status/zero.json']) {
      await expect(store.get(key)).rejects.toThrow(new RegExp(`Could not read .*${key.replace('/', '\\/')}.*is not a regular file`));
    }
  });

  test('removes the temp files a killed writer left, not those of a write under way', async () => {
    const nar = join(dir, 'cache', 'nar');
    await mkdir(nar, { recursive: true });
    const left = join(nar, '.0abc.nar.zst.tmp-0123456789ab');
    const live = join(nar, '.1def.nar.zst.tmp-ba9876543210');
    await writeFile(left, 'half a NAR');
    await writeFile(live, 'a NAR being written');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(left, twoHoursAgo, twoHoursAgo);
    await store.put('nar/2.nar.zst', 'whole', 'application/x-nix-nar');
    expect(existsSync(left)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(await store.list('nar/')).toEqual(['nar/2.nar.zst']);
  });

  test('missing objects, and directories, are not objects', async () => {
    expect(await store.has('x.narinfo')).toBe(false);
    expect(await store.get('x.narinfo')).toBeUndefined();
    await store.put('fleet/prod/a.json', '{}', 'application/json');
    expect(await store.has('fleet/prod')).toBe(false);
    expect(await store.get('fleet/prod')).toBeUndefined();
    expect(await store.has('fleet/prod/a.json/deeper')).toBe(false);
  });

  test('list() is recursive and prefix-filtered; delete() is idempotent', async () => {
    for (const key of ['fleet/staging/a.json', 'fleet/staging/deep/b.json', 'fleet/stage-x.json', 'nar/1.nar.zst']) {
      await store.put(key, '{}', 'application/json');
    }
    expect(await store.list('fleet/staging/')).toEqual(['fleet/staging/a.json', 'fleet/staging/deep/b.json']);
    expect(await store.list('fleet/stag')).toEqual(['fleet/stage-x.json', 'fleet/staging/a.json', 'fleet/staging/deep/b.json']);
    expect(await store.list('')).toHaveLength(4);
    expect(await store.list('absent/')).toEqual([]);
    await store.delete('nar/1.nar.zst');
    await store.delete('nar/1.nar.zst');
    expect(await store.list('nar/')).toEqual([]);
  });

  test('putStream writes 64 MiB through a temp file, never holding the body', async () => {
    const cache = join(dir, 'cache');
    let maxLead = 0;
    const body = generatedStream({
      bytes: 64 * MiB,
      onChunk: (produced) => {
        // what the producer made minus what reached the temp file
        maxLead = Math.max(maxLead, produced - writtenSoFar(cache));
      },
    });
    const result = await store.putStream('nar/big.nar.zst', body.stream, 'application/x-nix-nar');
    expect(result.bytes).toBe(64 * MiB);
    expect(await sha256OfFile(join(cache, 'nar', 'big.nar.zst'))).toBe(body.digest());
    expect(maxLead).toBeLessThan(8 * MiB);
    expect(await allFiles(cache)).toEqual(['nar/big.nar.zst']);
  });

  test('a failing stream leaves neither the object nor a temp file, and a listing never shows temp files', async () => {
    const cache = join(dir, 'cache');
    let listedMidway: string[] = ['not looked'];
    let filesMidway: string[] = [];
    const body = generatedStream({
      bytes: 8 * MiB,
      failAfterBytes: 4 * MiB,
      onChunk: async (produced) => {
        if (produced !== 2 * MiB) return;
        listedMidway = await store.list('nar/');
        filesMidway = await allFiles(cache);
      },
    });
    const error = await store.putStream('nar/broken.nar.zst', body.stream, 'application/x-nix-nar').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(/nar\/broken\.nar\.zst: the data being written failed: generated stream failed on purpose/);
    expect(filesMidway).toEqual([expect.stringMatching(/^nar\/\.broken\.nar\.zst\.tmp-[0-9a-f]{12}$/)]);
    expect(listedMidway).toEqual([]);
    expect(await store.has('nar/broken.nar.zst')).toBe(false);
    expect(await allFiles(cache)).toEqual([]);
  });

  test('a stream that failed before the upload began fails the upload', async () => {
    const broken = new Readable({ read() {} });
    broken.on('error', () => {});
    broken.destroy(new Error('serializer crashed'));
    await new Promise((r) => setImmediate(r));
    await expect(store.putStream('nar/early.nar.zst', broken, 'application/x-nix-nar')).rejects.toThrow(/data being written failed: serializer crashed/);
    expect(await allFiles(join(dir, 'cache'))).toEqual([]);
  });

  test('a factory body is accepted like a stream', async () => {
    expect(await store.putStream('nar/f.nar.zst', () => Readable.from([Buffer.from('abc')]), 'application/x-nix-nar')).toEqual({ bytes: 3 });
    expect((await store.get('nar/f.nar.zst'))?.toString()).toBe('abc');
  });

  test('keys that would leave the cache directory are refused', async () => {
    for (const key of ['../escape', '/abs', 'a//b', 'a/./b', 'a\\b', '', 'a/..']) {
      await expect(store.put(key, 'x', 'text/plain')).rejects.toThrow(/Invalid cache key/);
    }
    await expect(store.list('../')).rejects.toThrow(/Invalid cache key/);
    expect(await allFiles(dir)).toEqual([]);
  });

  test('write errors name the file and what to do', async () => {
    await mkdir(join(dir, 'cache'));
    await writeFile(join(dir, 'cache', 'fleet'), 'a file where a directory should be');
    const error = await store.put('fleet/x.json', '{}', 'application/json').catch((e: unknown) => e);
    expect((error as Error).message).toContain(`Could not write ${join(dir, 'cache', 'fleet/x.json')}`);
    expect((error as Error).message).toMatch(/file stands where a directory is needed|EEXIST|ENOTDIR/);
  });
});

/** Bytes in the cache's temp and final NAR files right now. */
function writtenSoFar(cache: string): number {
  const narDir = join(cache, 'nar');
  if (!existsSync(narDir)) return 0;
  return readdirSync(narDir).reduce((total, name) => total + statSync(join(narDir, name)).size, 0);
}
