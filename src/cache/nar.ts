import { lstat, open, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * An in-process NAR serializer, byte-identical to `nix-store --dump` (NixOS/nix
 * src/libutil/archive.cc). One `nix-store --dump` process costs ~18 ms; reading the tree here
 * costs a few async syscalls per file.
 *
 * Paths are handled as byte strings (Buffers) throughout: directory entries are sorted by their
 * raw bytes, as Nix's std::map<std::string> does, and names that are not valid UTF-8 survive.
 */

/** Files up to this size are read with one read; bigger ones are streamed in CHUNK_SIZE pieces. */
const SMALL_FILE = 256 * 1024;
const CHUNK_SIZE = 1024 * 1024;
/** Framing and small files are gathered into chunks of about this size before being yielded. */
const BATCH_SIZE = 64 * 1024;

const PADDING = Buffer.alloc(8);

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

  /** A NAR string: 64-bit little-endian length, the bytes, zero padding to 8 bytes. */
  string(text: string | Buffer): void {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.length(bytes.length);
    this.raw(bytes);
    this.padding(bytes.length);
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

/** Yields the NAR serialisation of `path` (a file, symlink or directory) in chunks. */
export async function* narChunks(path: string | Buffer): AsyncGenerator<Buffer> {
  const out = new NarBatcher();
  out.string('nix-archive-1');
  yield* dumpNode(typeof path === 'string' ? Buffer.from(path, 'utf8') : path, out);
  const rest = out.take();
  if (rest) yield rest;
}

/** The NAR of `path` as a byte stream; it reads ahead only as far as its consumer pulls. */
export function narStream(path: string): Readable {
  return Readable.from(narChunks(path), { objectMode: false, highWaterMark: CHUNK_SIZE });
}

async function* dumpNode(path: Buffer, out: NarBatcher): AsyncGenerator<Buffer> {
  const st = await lstat(path);
  out.string('(');
  if (st.isFile()) {
    out.string('type');
    out.string('regular');
    // Nix looks at the owner's execute bit only.
    if (st.mode & 0o100) {
      out.string('executable');
      out.string('');
    }
    out.string('contents');
    yield* dumpContents(path, st, out);
  } else if (st.isDirectory()) {
    out.string('type');
    out.string('directory');
    const names = (await readdir(path, { encoding: 'buffer' })).sort(Buffer.compare);
    for (const name of names) {
      out.string('entry');
      out.string('(');
      out.string('name');
      out.string(name);
      out.string('node');
      yield* dumpNode(Buffer.concat([path, SLASH, name]), out);
      out.string(')');
      if (out.full) yield out.take() as Buffer;
    }
  } else if (st.isSymbolicLink()) {
    out.string('type');
    out.string('symlink');
    out.string('target');
    out.string(await readlink(path, { encoding: 'buffer' }));
  } else {
    throw new Error(`${path.toString()} has a file type a NAR cannot hold (only regular files, directories and symlinks)`);
  }
  out.string(')');
  if (out.full) yield out.take() as Buffer;
}

const SLASH = Buffer.from('/');

async function* dumpContents(path: Buffer, st: Stats, out: NarBatcher): AsyncGenerator<Buffer> {
  const size = st.size;
  out.length(size);
  if (size === 0) return;
  const handle = await open(path, 'r');
  try {
    if (size <= SMALL_FILE) {
      const data = Buffer.allocUnsafe(size);
      await readExactly(handle, data, 0, path);
      out.raw(data);
    } else {
      const first = out.take();
      if (first) yield first;
      for (let position = 0; position < size; position += CHUNK_SIZE) {
        // A fresh buffer per chunk: the consumer may still hold the previous one.
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, size - position));
        await readExactly(handle, chunk, position, path);
        yield chunk;
      }
    }
  } finally {
    await handle.close();
  }
  out.padding(size);
}

async function readExactly(handle: Awaited<ReturnType<typeof open>>, into: Buffer, position: number, path: Buffer): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`${path.toString()} shrank while it was being read`);
    done += bytesRead;
  }
}
