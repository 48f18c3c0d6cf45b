import { close, lstat, open, read, readdir, readlink, type Dirent, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { byName, kindOf, NarWriter, needsLstat, SLASH, unsupportedType, type NodeKind } from './nar-format.js';

/**
 * The streaming NAR serializer, byte-identical to `nix-store --dump`, for paths of any size on
 * the main thread. One `nix-store --dump` process costs ~18 ms; reading the tree here costs a
 * few async syscalls per file. (Small paths usually go through the worker threads instead:
 * nar-sync.ts, same grammar from nar-format.ts.)
 *
 * Thousands of small paths make the event loop the bottleneck, so the hot path uses the
 * callback fs API (half the cost of fs/promises per call), takes entry types from readdir
 * instead of an lstat per entry, and yields framing in batches rather than token by token.
 */

/** Files up to this size are read with one read; bigger ones are streamed in CHUNK_SIZE pieces. */
const SMALL_FILE = 256 * 1024;
const CHUNK_SIZE = 1024 * 1024;
/** Framing and small files are gathered into chunks of about this size before being yielded. */
const BATCH_SIZE = 64 * 1024;

// Small promise wrappers over the callback fs API.
const lstatAsync = (path: Buffer): Promise<Stats> => new Promise((resolve, reject) => lstat(path, (e, st) => (e ? reject(e) : resolve(st))));
const readdirAsync = (path: Buffer): Promise<Dirent<Buffer>[]> =>
  new Promise((resolve, reject) => readdir(path, { encoding: 'buffer', withFileTypes: true }, (e, entries) => (e ? reject(e) : resolve(entries))));
const readlinkAsync = (path: Buffer): Promise<Buffer> => new Promise((resolve, reject) => readlink(path, { encoding: 'buffer' }, (e, target) => (e ? reject(e) : resolve(target))));
const openAsync = (path: Buffer): Promise<number> => new Promise((resolve, reject) => open(path, 'r', (e, fd) => (e ? reject(e) : resolve(fd))));
const closeAsync = (fd: number): Promise<void> => new Promise((resolve, reject) => close(fd, (e) => (e ? reject(e) : resolve())));
const readAsync = (fd: number, into: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, into, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));

/** Yields the NAR serialisation of `path` (a file, symlink or directory) in chunks. */
export async function* narChunks(path: string | Buffer): AsyncGenerator<Buffer> {
  const root = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  const out = new NarWriter();
  out.begin();
  const st = await lstatAsync(root);
  yield* dumpNode(root, kindOf(st), st, out);
  const rest = out.take();
  if (rest) yield rest;
}

/** The NAR of `path` as a byte stream; it reads ahead only as far as its consumer pulls. */
export function narStream(path: string): Readable {
  return Readable.from(narChunks(path), { objectMode: false, highWaterMark: CHUNK_SIZE });
}

/** `st` is known for files; directories and symlinks below the root come with their type only. */
async function* dumpNode(path: Buffer, kind: NodeKind, st: Stats | undefined, out: NarWriter): AsyncGenerator<Buffer> {
  switch (kind) {
    case 'file': {
      const stats = st ?? (await lstatAsync(path));
      // Nix looks at the owner's execute bit only.
      out.file((stats.mode & 0o100) !== 0, stats.size);
      yield* dumpContents(path, stats.size, out);
      out.fileEnd(stats.size);
      break;
    }
    case 'directory': {
      out.directory();
      const entries = (await readdirAsync(path)).sort(byName);
      for (const entry of entries) {
        out.entry(entry.name);
        const child = Buffer.concat([path, SLASH, entry.name]);
        const childStat = needsLstat(entry) ? await lstatAsync(child) : undefined;
        yield* dumpNode(child, kindOf(childStat ?? entry), childStat, out);
        out.entryEnd();
        if (out.size >= BATCH_SIZE) yield out.take() as Buffer;
      }
      out.end();
      break;
    }
    case 'symlink':
      out.symlink(await readlinkAsync(path));
      break;
    case 'other':
      throw unsupportedType(path);
  }
}

async function* dumpContents(path: Buffer, size: number, out: NarWriter): AsyncGenerator<Buffer> {
  if (size === 0) return;
  const fd = await openAsync(path);
  try {
    if (size <= SMALL_FILE) {
      const data = Buffer.allocUnsafe(size);
      await readExactly(fd, data, 0, path);
      out.raw(data);
    } else {
      const first = out.take();
      if (first) yield first;
      for (let position = 0; position < size; position += CHUNK_SIZE) {
        // A fresh buffer per chunk: the consumer may still hold the previous one.
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, size - position));
        await readExactly(fd, chunk, position, path);
        yield chunk;
      }
    }
  } finally {
    await closeAsync(fd);
  }
}

async function readExactly(fd: number, into: Buffer, position: number, path: Buffer): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const n = await readAsync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error(`${path.toString()} shrank while it was being read`);
    done += n;
  }
}
