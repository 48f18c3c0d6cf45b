import { close, lstat, open, read, readdir, readlink, type Dirent, type Stats } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * An in-process NAR serializer, byte-identical to `nix-store --dump` (NixOS/nix
 * src/libutil/archive.cc). One `nix-store --dump` process costs ~18 ms; reading the tree here
 * costs a few async syscalls per file.
 *
 * Paths are handled as byte strings (Buffers) throughout: directory entries are sorted by their
 * raw bytes, as Nix's std::map<std::string> does, and names that are not valid UTF-8 survive.
 *
 * Thousands of small paths make the event loop the bottleneck, so the hot path uses the
 * callback fs API (half the cost of fs/promises per call), takes entry types from readdir
 * instead of an lstat per entry, and writes the fixed NAR tokens from pre-framed buffers.
 */

/** Files up to this size are read with one read; bigger ones are streamed in CHUNK_SIZE pieces. */
const SMALL_FILE = 256 * 1024;
const CHUNK_SIZE = 1024 * 1024;
/** Framing and small files are gathered into chunks of about this size before being yielded. */
const BATCH_SIZE = 64 * 1024;

const PADDING = Buffer.alloc(8);

/** A NAR string: 64-bit little-endian length, the bytes, zero padding to 8 bytes. */
function frame(bytes: Buffer): Buffer {
  const out = Buffer.alloc(8 + bytes.length + ((8 - (bytes.length % 8)) % 8));
  out.writeBigUInt64LE(BigInt(bytes.length));
  bytes.copy(out, 8);
  return out;
}

const token = (text: string): Buffer => frame(Buffer.from(text, 'utf8'));
const T = {
  magic: token('nix-archive-1'),
  open: token('('),
  close: token(')'),
  regular: Buffer.concat([token('type'), token('regular')]),
  executable: Buffer.concat([token('executable'), token('')]),
  contents: token('contents'),
  directory: Buffer.concat([token('type'), token('directory')]),
  symlink: Buffer.concat([token('type'), token('symlink'), token('target')]),
  entryName: Buffer.concat([token('entry'), token('('), token('name')]),
  node: token('node'),
};

/** Collects NAR framing into batches, so thousands of tiny tokens cost a few yields. */
class NarBatcher {
  private parts: Buffer[] = [];
  private size = 0;

  get full(): boolean {
    return this.size >= BATCH_SIZE;
  }

  raw(bytes: Buffer): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  string(bytes: Buffer): void {
    this.raw(frame(bytes));
  }

  length(n: number): void {
    const header = Buffer.allocUnsafe(8);
    header.writeBigUInt64LE(BigInt(n));
    this.raw(header);
  }

  padding(n: number): void {
    const pad = (8 - (n % 8)) % 8;
    if (pad) this.raw(PADDING.subarray(0, pad));
  }

  take(): Buffer | undefined {
    if (this.size === 0) return undefined;
    const out = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return out;
  }
}

// Small promise wrappers over the callback fs API.
const lstatAsync = (path: Buffer): Promise<Stats> => new Promise((resolve, reject) => lstat(path, (e, st) => (e ? reject(e) : resolve(st))));
const readdirAsync = (path: Buffer): Promise<Dirent<Buffer>[]> =>
  new Promise((resolve, reject) => readdir(path, { encoding: 'buffer', withFileTypes: true }, (e, entries) => (e ? reject(e) : resolve(entries))));
const readlinkAsync = (path: Buffer): Promise<Buffer> => new Promise((resolve, reject) => readlink(path, { encoding: 'buffer' }, (e, target) => (e ? reject(e) : resolve(target))));
const openAsync = (path: Buffer): Promise<number> => new Promise((resolve, reject) => open(path, 'r', (e, fd) => (e ? reject(e) : resolve(fd))));
const closeAsync = (fd: number): Promise<void> => new Promise((resolve, reject) => close(fd, (e) => (e ? reject(e) : resolve())));
const readAsync = (fd: number, into: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, into, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));

type Kind = 'file' | 'directory' | 'symlink' | 'other';

function kindOf(entry: Stats | Dirent<Buffer>): Kind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Yields the NAR serialisation of `path` (a file, symlink or directory) in chunks. */
export async function* narChunks(path: string | Buffer): AsyncGenerator<Buffer> {
  const root = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  const out = new NarBatcher();
  out.raw(T.magic);
  const st = await lstatAsync(root);
  yield* dumpNode(root, kindOf(st), st, out);
  const rest = out.take();
  if (rest) yield rest;
}

/** The NAR of `path` as a byte stream; it reads ahead only as far as its consumer pulls. */
export function narStream(path: string): Readable {
  return Readable.from(narChunks(path), { objectMode: false, highWaterMark: CHUNK_SIZE });
}

const SLASH = Buffer.from('/');

/** `st` is known for the root; entries below come with their type only (from readdir). */
async function* dumpNode(path: Buffer, kind: Kind, st: Stats | undefined, out: NarBatcher): AsyncGenerator<Buffer> {
  out.raw(T.open);
  switch (kind) {
    case 'file': {
      const stats = st ?? (await lstatAsync(path));
      out.raw(T.regular);
      // Nix looks at the owner's execute bit only.
      if (stats.mode & 0o100) out.raw(T.executable);
      out.raw(T.contents);
      yield* dumpContents(path, stats.size, out);
      break;
    }
    case 'directory': {
      out.raw(T.directory);
      const entries = (await readdirAsync(path)).sort((a, b) => Buffer.compare(a.name, b.name));
      for (const entry of entries) {
        out.raw(T.entryName);
        out.string(entry.name);
        out.raw(T.node);
        const child = Buffer.concat([path, SLASH, entry.name]);
        // readdir may not know the type on some file systems; lstat tells then.
        const childStat = kindOf(entry) === 'other' ? await lstatAsync(child) : undefined;
        yield* dumpNode(child, childStat ? kindOf(childStat) : kindOf(entry), childStat, out);
        out.raw(T.close);
        if (out.full) yield out.take() as Buffer;
      }
      break;
    }
    case 'symlink':
      out.raw(T.symlink);
      out.string(await readlinkAsync(path));
      break;
    case 'other':
      throw new Error(`${path.toString()} has a file type a NAR cannot hold (only regular files, directories and symlinks)`);
  }
  out.raw(T.close);
}

async function* dumpContents(path: Buffer, size: number, out: NarBatcher): AsyncGenerator<Buffer> {
  out.length(size);
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
  out.padding(size);
}

async function readExactly(fd: number, into: Buffer, position: number, path: Buffer): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const n = await readAsync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error(`${path.toString()} shrank while it was being read`);
    done += n;
  }
}
