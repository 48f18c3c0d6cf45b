import { createHash } from 'node:crypto';
import { constants as zlibConstants, zstdCompressSync } from 'node:zlib';
import { narSync, NarTooBig } from './nar-sync.js';

/**
 * One small path's NAR, prepared in a worker thread: serialized, checked against what Nix
 * recorded, compressed, hashed. Jobs and answers cross the thread boundary as structured
 * clones, so failures are data here and become errors in the pool (nar-workers.ts).
 */

export interface NarJobMessage {
  id: number;
  path: string;
  /** sha256 digest Nix recorded. */
  hash: Uint8Array;
  /** NarSize Nix recorded; reading stops once the NAR passes it. */
  size: number;
  method: 'zstd' | 'none';
  level: number;
}

export type NarJobAnswer =
  | { id: number; ok: true; file: Uint8Array; fileHash: Uint8Array }
  | { id: number; ok: false; kind: 'size'; actualSize: number; atLeast: boolean }
  | { id: number; ok: false; kind: 'hash'; actualHash: Uint8Array }
  | { id: number; ok: false; kind: 'error'; message: string; code?: string };

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

export function answerNarJob(job: NarJobMessage): NarJobAnswer {
  const { id } = job;
  let nar: Buffer;
  try {
    nar = narSync(job.path, job.size);
  } catch (error) {
    if (error instanceof NarTooBig) return { id, ok: false, kind: 'size', actualSize: error.size, atLeast: true };
    const { message, code } = error as NodeJS.ErrnoException;
    return { id, ok: false, kind: 'error', message: message ?? String(error), ...(code ? { code } : {}) };
  }
  if (nar.length !== job.size) return { id, ok: false, kind: 'size', actualSize: nar.length, atLeast: false };
  const narHash = sha256(nar);
  if (!narHash.equals(job.hash)) return { id, ok: false, kind: 'hash', actualHash: narHash };
  const file =
    job.method === 'zstd' ? zstdCompressSync(nar, { params: { [zlibConstants.ZSTD_c_compressionLevel]: job.level }, pledgedSrcSize: nar.length }) : nar;
  return { id, ok: true, file, fileHash: sha256(file) };
}
