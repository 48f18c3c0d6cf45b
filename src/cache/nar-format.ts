import type { Dirent, Stats } from 'node:fs';

/**
 * The NAR (Nix ARchive) grammar, as `nix-store --dump` writes it (NixOS/nix
 * src/libutil/archive.cc). Both serializers build on it: the streaming one (nar.ts) and the
 * synchronous one for small paths (nar-sync.ts), which runs in the NAR worker threads.
 *
 * Paths are byte strings (Buffers) throughout: directory entries are sorted by their raw bytes,
 * as Nix's std::map<std::string> does, and names that are not valid UTF-8 survive.
 */

const PADDING = Buffer.alloc(8);

/** A NAR string: 64-bit little-endian length, the bytes, zero padding to 8 bytes. */
function frame(bytes: Buffer): Buffer {
  const out = Buffer.alloc(8 + bytes.length + ((8 - (bytes.length % 8)) % 8));
  out.writeBigUInt64LE(BigInt(bytes.length));
  bytes.copy(out, 8);
  return out;
}

// The fixed tokens, framed once: thousands of small paths would otherwise frame them again and again.
const token = (text: string): Buffer => frame(Buffer.from(text, 'utf8'));
const T = {
  magic: token('nix-archive-1'),
  open: token('('),
  close: token(')'),
  regular: Buffer.concat([token('('), token('type'), token('regular')]),
  executable: Buffer.concat([token('executable'), token('')]),
  contents: token('contents'),
  directory: Buffer.concat([token('('), token('type'), token('directory')]),
  symlink: Buffer.concat([token('('), token('type'), token('symlink'), token('target')]),
  entryName: Buffer.concat([token('entry'), token('('), token('name')]),
  node: token('node'),
};

export type NodeKind = 'file' | 'directory' | 'symlink' | 'other';

export function kindOf(entry: Stats | Dirent<Buffer>): NodeKind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Entries whose type readdir tells are enough; the rest need an lstat (files for mode and size). */
export const needsLstat = (entry: Dirent<Buffer>): boolean => !entry.isDirectory() && !entry.isSymbolicLink();

export const byName = (a: Dirent<Buffer>, b: Dirent<Buffer>): number => Buffer.compare(a.name, b.name);

export const SLASH = Buffer.from('/');

export function unsupportedType(path: Buffer): Error {
  return new Error(`${path.toString()} has a file type a NAR cannot hold (only regular files, directories and symlinks)`);
}

/**
 * Collects a NAR's bytes as a list of parts. A serializer walks the tree and calls, per node:
 * `file` + the contents + `fileEnd`, or `directory` + (`entry`, the child, `entryEnd`)… + `end`,
 * or `symlink`. `take` hands over what is gathered so far (a streaming serializer yields it).
 */
export class NarWriter {
  private parts: Buffer[] = [];
  /** Bytes gathered since the last `take` (all of the NAR when nothing was taken). */
  size = 0;

  begin(): void {
    this.raw(T.magic);
  }

  /** Opens a regular file node up to its contents, which come next (`size` bytes). */
  file(executable: boolean, size: number): void {
    this.raw(T.regular);
    if (executable) this.raw(T.executable);
    this.raw(T.contents);
    const header = Buffer.allocUnsafe(8);
    header.writeBigUInt64LE(BigInt(size));
    this.raw(header);
  }

  /** Pads the `size` bytes of contents and closes the file node. */
  fileEnd(size: number): void {
    const pad = (8 - (size % 8)) % 8;
    if (pad) this.raw(PADDING.subarray(0, pad));
    this.raw(T.close);
  }

  directory(): void {
    this.raw(T.directory);
  }

  entry(name: Buffer): void {
    this.raw(T.entryName);
    this.raw(frame(name));
    this.raw(T.node);
  }

  entryEnd(): void {
    this.raw(T.close);
  }

  /** Closes a directory node. */
  end(): void {
    this.raw(T.close);
  }

  symlink(target: Buffer): void {
    this.raw(T.symlink);
    this.raw(frame(target));
    this.raw(T.close);
  }

  /** Appends bytes as they are: file contents. */
  raw(bytes: Buffer): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  take(): Buffer | undefined {
    if (this.size === 0) return undefined;
    const out = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return out;
  }
}
