import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { nix32Encode, parseHash } from '../nix/hash.js';
import { compressBuffer, compressionLevel, createCompressor, narFileExtension, type Compression } from './compress.js';
import { hashMismatch, NarMismatchError, sizeMismatch } from './nar-mismatch.js';
import { narChunks } from './nar.js';
import { NarWorkersUnavailable, type NarWorkerPool, type PreparedNar } from './nar-workers.js';
import type { BinaryCacheStore } from './store.js';

export { NarMismatchError };

export const NAR_CONTENT_TYPE = 'application/x-nix-nar';

/** NARs up to this size are serialized, compressed and uploaded from memory in one piece. */
export const BUFFERED_NAR_LIMIT = 1024 * 1024;

/** Where a NAR goes: named by its NarHash, so the key is known before a byte is compressed. */
export function narObjectKey(narHash: string, compression: Compression): string {
  return `nar/${nix32Encode(parseHash(narHash, 'sha256').digest)}${narFileExtension(compression.method)}`;
}

/**
 * Passes a NAR through while hashing it. Fails as soon as it grows past the expected size and,
 * at its end, before passing the end on, when size or hash differ: so a compressor behind it
 * never finishes and the store never commits a NAR that is not the one Nix recorded.
 */
export class NarCheck extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  constructor(
    private readonly path: string,
    private readonly expectedHash: Buffer,
    private readonly expectedSize: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.expectedSize) return callback(sizeMismatch(this.path, this.size, this.expectedSize));
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.size !== this.expectedSize) return callback(sizeMismatch(this.path, this.size, this.expectedSize));
    const digest = this.hash.digest();
    if (!digest.equals(this.expectedHash)) return callback(hashMismatch(this.path, digest, this.expectedHash));
    callback();
  }
}

/** Counts and hashes what flows through (the compressed file). */
export class FileMeter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** `sha256:<nix32>`; call once, after the stream ended. */
  digest(): string {
    return `sha256:${nix32Encode(this.hash.digest())}`;
  }
}

export type NarSource = (path: string) => AsyncIterable<Buffer>;

export interface NarUploadRequest {
  path: string;
  /** What Nix recorded; the upload fails unless the NAR matches both. */
  narHash: string;
  narSize: number;
  store: BinaryCacheStore;
  compression: Compression;
  /** Where the NAR comes from; defaults to serializing `path` from the filesystem. */
  source?: NarSource;
  /** Worker threads that prepare small NARs read from the filesystem (not used with `source`). */
  workers?: NarWorkerPool;
}

export interface NarUploadResult {
  /** The object key, which is also the narinfo's URL. */
  key: string;
  /** `sha256:<nix32>` of the uploaded file. */
  fileHash: string;
  fileSize: number;
  /** `sha256:<nix32>`, checked against the request. */
  narHash: string;
  narSize: number;
}

/**
 * Serializes, checks, compresses and uploads one NAR. Small NARs go up as one buffer (the store
 * can retry it and sends a Content-Length); bigger ones stream with backpressure, so memory
 * stays bounded whatever their size.
 */
export async function uploadNar(request: NarUploadRequest): Promise<NarUploadResult> {
  const expected = parseHash(request.narHash, 'sha256').digest;
  const nix32 = nix32Encode(expected);
  const key = `nar/${nix32}${narFileExtension(request.compression.method)}`;
  const source = request.source ?? narChunks;
  const narHash = `sha256:${nix32}`;
  const upload = request.narSize <= BUFFERED_NAR_LIMIT ? uploadBuffered : uploadStreamed;
  const { fileHash, fileSize } = await upload(request, source, expected, key);
  return { key, fileHash, fileSize, narHash, narSize: request.narSize };
}

type Uploader = (request: NarUploadRequest, source: NarSource, expected: Buffer, key: string) => Promise<{ fileHash: string; fileSize: number }>;

const uploadBuffered: Uploader = async (request, source, expected, key) => {
  const { file, fileHash } = (await prepareInWorker(request, expected)) ?? (await prepareHere(request, source, expected));
  await request.store.put(key, file, NAR_CONTENT_TYPE);
  return { fileHash, fileSize: file.length };
};

async function prepareInWorker(request: NarUploadRequest, expected: Buffer): Promise<PreparedNar | undefined> {
  const { workers, compression } = request;
  if (!workers || request.source || compression.method === 'xz') return undefined;
  try {
    return await workers.prepare({ path: request.path, expectedHash: expected, expectedSize: request.narSize, method: compression.method, level: compressionLevel(compression) });
  } catch (error) {
    if (error instanceof NarWorkersUnavailable) return undefined;
    throw error;
  }
}

async function prepareHere(request: NarUploadRequest, source: NarSource, expected: Buffer): Promise<PreparedNar> {
  const nar = await readNar(request.path, source(request.path), expected, request.narSize);
  const file = await compressBuffer(request.compression, nar);
  return { file, fileHash: `sha256:${nix32Encode(createHash('sha256').update(file).digest())}` };
}

const uploadStreamed: Uploader = async (request, source, expected, key) => {
  const check = new NarCheck(request.path, expected, request.narSize);
  const meter = new FileMeter();
  const flow = pipeline(Readable.from(source(request.path), { objectMode: false }), check, createCompressor(request.compression, request.narSize), meter);
  const put = request.store.putStream(key, meter, NAR_CONTENT_TYPE).then(
    (result) => {
      // A store that stopped reading early would leave the pipeline paused forever.
      if (!meter.readableEnded) meter.destroy(new Error(`the store at ${request.store.url} finished ${key} before reading all of it`));
      return result;
    },
    (error: unknown) => {
      meter.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    },
  );
  const [flowResult, putResult] = await Promise.allSettled([flow, put]);
  // A failure on our side (NAR mismatch, unreadable file, compressor) is the cause of whatever
  // the store then reports about its body: name it rather than the store's echo of it.
  if (flowResult.status === 'rejected') {
    const echoed = putResult.status === 'rejected' && (flowResult.reason === putResult.reason || isPrematureClose(flowResult.reason));
    if (!echoed) throw flowResult.reason;
  }
  if (putResult.status === 'rejected') throw putResult.reason;
  if (flowResult.status === 'rejected') throw flowResult.reason;
  return { fileHash: meter.digest(), fileSize: meter.size };
};

function isPrematureClose(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Reads a whole (small) NAR into memory, checking size and hash against what Nix recorded. */
export async function readNar(path: string, chunks: AsyncIterable<Buffer>, expectedHash: Buffer, expectedSize: number): Promise<Buffer> {
  const hash = createHash('sha256');
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > expectedSize) throw sizeMismatch(path, size, expectedSize);
    hash.update(chunk);
    parts.push(chunk);
  }
  if (size !== expectedSize) throw sizeMismatch(path, size, expectedSize);
  const digest = hash.digest();
  if (!digest.equals(expectedHash)) throw hashMismatch(path, digest, expectedHash);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
}

/** Hashes a path's NAR as Nix would record it: `sha256:<nix32>` and its size. */
export async function hashNar(path: string, source: NarSource = narChunks): Promise<{ narHash: string; narSize: number }> {
  const hash = createHash('sha256');
  let narSize = 0;
  for await (const chunk of source(path)) {
    hash.update(chunk);
    narSize += chunk.length;
  }
  return { narHash: `sha256:${nix32Encode(hash.digest())}`, narSize };
}
