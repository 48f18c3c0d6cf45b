import { availableParallelism } from 'node:os';
import { Duplex, PassThrough } from 'node:stream';
import { constants as zlibConstants, createZstdCompress, createZstdDecompress, zstdCompress, zstdCompressSync } from 'node:zlib';
import { promisify } from 'node:util';
import { spawnProcess } from '../util/exec.js';

export type CompressionMethod = 'zstd' | 'xz' | 'none';

export interface Compression {
  method: CompressionMethod;
  /** zstd 1–19 (default 3, as Nix), xz 0–9 (default 6, as Nix). Ignored for `none`. */
  level?: number;
}

const METHODS: readonly CompressionMethod[] = ['zstd', 'xz', 'none'];
const LEVELS: Record<CompressionMethod, { min: number; max: number; default: number }> = {
  zstd: { min: 1, max: 19, default: 3 },
  xz: { min: 0, max: 9, default: 6 },
  none: { min: 0, max: 0, default: 0 },
};

/** Parses `zstd`, `zstd:19`, `xz`, `xz:9`, `none`. */
export function parseCompression(text: string): Compression {
  const match = /^\s*(\w+)(?::(\d+))?\s*$/.exec(text);
  const method = match?.[1]?.toLowerCase() as CompressionMethod | undefined;
  if (!match || !method || !METHODS.includes(method)) {
    throw new Error(`"${text}" is not a compression (one of zstd, xz, none, optionally with a level: zstd:9, xz:6)`);
  }
  if (match[2] === undefined) return { method };
  if (method === 'none') throw new Error(`"${text}": compression none takes no level`);
  const level = Number(match[2]);
  const range = LEVELS[method];
  if (level < range.min || level > range.max) throw new Error(`"${text}": ${method} levels go from ${range.min} to ${range.max}`);
  return { method, level };
}

export function compressionLevel(compression: Compression): number {
  return compression.level ?? LEVELS[compression.method].default;
}

/** How the NAR file is named: `.nar.zst`, `.nar.xz`, `.nar`. */
export function narFileExtension(method: CompressionMethod): string {
  return { zstd: '.nar.zst', xz: '.nar.xz', none: '.nar' }[method];
}

/** The narinfo `Compression:` value. */
export function narInfoCompression(method: CompressionMethod): string {
  return method;
}

/**
 * How many compressions of this kind are worth running at once. xz is one process per NAR,
 * CPU-bound and ~100 MiB of memory at level 6, so more processes than cores only cost memory.
 */
export function compressionParallelism(compression: Compression): number {
  return compression.method === 'xz' ? Math.max(2, availableParallelism()) : Number.POSITIVE_INFINITY;
}

/** A streaming compressor. `narSize`, when known, lets zstd size its tables to the input. */
export function createCompressor(compression: Compression, narSize?: number): Duplex {
  switch (compression.method) {
    case 'zstd':
      return createZstdCompress(zstdOptions(compression, narSize));
    case 'xz':
      return new ProcessTransform('xz', ['--compress', '--stdout', '--quiet', `-${compressionLevel(compression)}`, '--threads=1']);
    case 'none':
      return new PassThrough();
  }
}

const zstdCompressAsync = promisify(zstdCompress);

/**
 * Up to this size zstd runs on the main thread: for a few KiB that takes tens of microseconds,
 * half the cost of a trip through the thread pool, and thousands of small paths add up.
 */
const SYNC_ZSTD_LIMIT = 128 * 1024;

/** Compresses a NAR held in memory (small paths), without stream machinery. */
export async function compressBuffer(compression: Compression, data: Buffer): Promise<Buffer> {
  switch (compression.method) {
    case 'zstd':
      if (data.length <= SYNC_ZSTD_LIMIT) return zstdCompressSync(data, zstdOptions(compression, data.length));
      return zstdCompressAsync(data, zstdOptions(compression, data.length));
    case 'none':
      return data;
    case 'xz': {
      const compressor = createCompressor(compression);
      const parts: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        compressor.on('data', (chunk: Buffer) => parts.push(chunk));
        compressor.on('end', resolve);
        compressor.on('error', reject);
      });
      compressor.end(data);
      await done;
      return Buffer.concat(parts);
    }
  }
}

/**
 * zlib's default 16 KiB output chunk costs a thread-pool round trip per 16 KiB: 250 MB/s here
 * against 1.5 GB/s with 1 MiB chunks. Only NARs over 1 MiB are streamed, so the buffer is cheap.
 */
const ZSTD_STREAM_CHUNK = 1 << 20;

function zstdOptions(compression: Compression, narSize: number | undefined) {
  return {
    chunkSize: ZSTD_STREAM_CHUNK,
    params: { [zlibConstants.ZSTD_c_compressionLevel]: compressionLevel(compression) },
    ...(narSize !== undefined ? { pledgedSrcSize: narSize } : {}),
  };
}

/** A decompressor for a narinfo's `Compression:` value (for reading a cache back). */
export function createDecompressor(compression: string): Duplex {
  switch (compression) {
    case 'zstd':
      return createZstdDecompress();
    case 'xz':
      return new ProcessTransform('xz', ['--decompress', '--stdout', '--quiet']);
    case 'bzip2':
      return new ProcessTransform('bzip2', ['--decompress', '--stdout', '--quiet']);
    case 'none':
    case '':
      return new PassThrough();
    default:
      throw new Error(`cannot decompress "${compression}" (known: zstd, xz, bzip2, none)`);
  }
}

/**
 * A child process as a transform stream: writes go to its stdin, its stdout is read back with
 * backpressure, and a non-zero exit turns into a stream error carrying its stderr.
 */
export class ProcessTransform extends Duplex {
  private readonly child;
  private stderr = '';
  private failed = false;
  /** Settles once the child has exited, however the stream ended. */
  readonly exited: Promise<void>;

  constructor(command: string, args: readonly string[]) {
    super();
    this.child = spawnProcess(command, args);
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    const { stdin, stdout, stderr } = this.child;
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += chunk.toString('utf8');
    });
    // Writes after the child died fail with EPIPE; the exit status below explains why.
    stdin.on('error', () => {});
    this.child.on('error', (err) => this.fail(new Error(`could not run ${command}: ${err.message}`)));
    this.child.on('close', (code, signal) => {
      if (this.destroyed || this.failed) return;
      if (code === 0) this.push(null);
      else this.fail(new Error(`${command} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`));
    });
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.destroy(error);
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin.write(chunk)) callback();
    else this.child.stdin.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    callback(error);
  }
}
