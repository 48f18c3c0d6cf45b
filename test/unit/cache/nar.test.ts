import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { narChunks, narStream } from '../../../src/cache/nar.js';
import { narSync, NarTooBig } from '../../../src/cache/nar-sync.js';

/** A NAR string as the format defines it: u64 LE length, bytes, zero padding to 8. */
function str(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8)]);
}
const nar = (...tokens: (string | Buffer)[]): Buffer => Buffer.concat([str('nix-archive-1'), ...tokens.map(str)]);

async function streamed(path: string | Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of narChunks(path)) parts.push(chunk);
  return Buffer.concat(parts);
}
const synchronous = async (path: string | Buffer): Promise<Buffer> => narSync(path);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-nar-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Both serializers must write the same grammar: each test runs against each.
describe.each([
  ['narChunks (streaming, main thread)', streamed],
  ['narSync (synchronous, worker threads)', synchronous],
])('%s', (_name, collect) => {
  it('serializes a regular file with its contents padded to 8 bytes', async () => {
    await writeFile(join(dir, 'f'), 'hello');
    expect(await collect(join(dir, 'f'))).toEqual(nar('(', 'type', 'regular', 'contents', 'hello', ')'));
  });

  it('marks a file executable when its owner may execute it, and only then', async () => {
    await writeFile(join(dir, 'x'), '#!/bin/sh\n');
    await chmod(join(dir, 'x'), 0o755);
    await writeFile(join(dir, 'group-only'), 'g');
    await chmod(join(dir, 'group-only'), 0o654);
    expect(await collect(join(dir, 'x'))).toEqual(nar('(', 'type', 'regular', 'executable', '', 'contents', '#!/bin/sh\n', ')'));
    expect(await collect(join(dir, 'group-only'))).toEqual(nar('(', 'type', 'regular', 'contents', 'g', ')'));
  });

  it('serializes empty files and files whose size is a multiple of 8 without padding', async () => {
    await writeFile(join(dir, 'empty'), '');
    await writeFile(join(dir, 'eight'), '12345678');
    expect(await collect(join(dir, 'empty'))).toEqual(nar('(', 'type', 'regular', 'contents', '', ')'));
    expect(await collect(join(dir, 'eight'))).toEqual(nar('(', 'type', 'regular', 'contents', '12345678', ')'));
  });

  it('serializes a symlink by its target, without following it', async () => {
    await symlink('/does/not/exist', join(dir, 'l'));
    expect(await collect(join(dir, 'l'))).toEqual(nar('(', 'type', 'symlink', 'target', '/does/not/exist', ')'));
  });

  it('serializes directories with entries sorted by their bytes, nested and empty ones included', async () => {
    const root = join(dir, 'root');
    await mkdir(join(root, 'sub', 'empty'), { recursive: true });
    await writeFile(join(root, 'b'), 'B');
    await writeFile(join(root, 'B'), 'upper');
    await writeFile(join(root, 'a.b'), '');
    await writeFile(join(root, 'sub', 'f'), 'x');
    await symlink('sub/f', join(root, 'a'));
    const entry = (name: string, ...node: string[]): string[] => ['entry', '(', 'name', name, 'node', '(', ...node, ')', ')'];
    expect(await collect(root)).toEqual(
      nar(
        '(',
        'type',
        'directory',
        ...entry('B', 'type', 'regular', 'contents', 'upper'),
        ...entry('a', 'type', 'symlink', 'target', 'sub/f'),
        ...entry('a.b', 'type', 'regular', 'contents', ''),
        ...entry('b', 'type', 'regular', 'contents', 'B'),
        'entry',
        '(',
        'name',
        'sub',
        'node',
        '(',
        'type',
        'directory',
        ...entry('empty', 'type', 'directory'),
        ...entry('f', 'type', 'regular', 'contents', 'x'),
        ')',
        ')',
        ')',
      ),
    );
  });

  it('keeps file names that are not UTF-8 byte for byte', async () => {
    const root = join(dir, 'root');
    await mkdir(root);
    const name = Buffer.from([0x66, 0xff, 0xfe]);
    await writeFile(Buffer.concat([Buffer.from(`${root}/`), name]), 'z');
    expect(await collect(root)).toEqual(nar('(', 'type', 'directory', 'entry', '(', 'name', name, 'node', '(', 'type', 'regular', 'contents', 'z', ')', ')', ')'));
  });

  it('refuses file types a NAR cannot hold', async () => {
    const socket = join(dir, 'sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      await expect(collect(dir)).rejects.toThrow(/sock has a file type a NAR cannot hold/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails for a path that does not exist', async () => {
    await expect(collect(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('narChunks', () => {
  it('streams a large file in bounded chunks', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 'pattern-');
    await writeFile(join(dir, 'big'), big);
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const chunk of narChunks(join(dir, 'big'))) {
      sizes.push(chunk.length);
      parts.push(chunk);
    }
    // Buffer.equals: jest's toEqual walks 5 MB byte by byte.
    expect(Buffer.concat(parts).equals(nar('(', 'type', 'regular', 'contents', big, ')'))).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    expect(sizes.length).toBeGreaterThan(5);
  });
});

describe('narSync', () => {
  it('stops with NarTooBig once the NAR would pass the limit, before reading a file past it', async () => {
    await writeFile(join(dir, 'f'), Buffer.alloc(1000));
    const whole = narSync(join(dir, 'f'));
    expect(narSync(join(dir, 'f'), whole.length).equals(whole)).toBe(true);
    const error = (() => {
      try {
        narSync(join(dir, 'f'), 100);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(NarTooBig);
    expect((error as NarTooBig).size).toBeGreaterThan(1000);
    expect(() => narSync(join(dir, 'f'), whole.length - 1)).toThrow(NarTooBig);
  });
});

describe('narStream', () => {
  it('is a byte stream of the same NAR', async () => {
    await writeFile(join(dir, 'f'), 'stream me');
    const parts: Buffer[] = [];
    for await (const chunk of narStream(join(dir, 'f'))) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts)).toEqual(nar('(', 'type', 'regular', 'contents', 'stream me', ')'));
  });
});
