import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';

export interface GeneratedStream {
  stream: Readable;
  /** Bytes handed out so far. */
  readonly produced: number;
  /** sha256 (hex) of everything produced; final once the stream has ended. */
  digest(): string;
}

/**
 * A stream of `bytes` pseudo-random bytes made on demand (never held whole), for large-upload
 * tests. `onChunk` runs before each chunk is handed out, with the bytes produced so far, so a
 * test can compare how far the producer got with how much the server has received; when it
 * returns a promise, the stream waits for it (to inspect the destination mid-upload).
 * `failAfterBytes` makes the stream error there, like a NAR serializer that fails midway.
 */
export function generatedStream(options: { bytes: number; chunkBytes?: number; seed?: number; failAfterBytes?: number; onChunk?: (produced: number) => void | Promise<void> }): GeneratedStream {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const hash = createHash('sha256');
  let produced = 0;
  let state = (options.seed ?? 1) >>> 0 || 1;
  let digest: string | undefined;
  const stream = new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (options.failAfterBytes !== undefined && produced >= options.failAfterBytes) {
        this.destroy(new Error(`generated stream failed on purpose after ${produced} bytes`));
        return;
      }
      if (produced >= options.bytes) {
        digest ??= hash.digest('hex');
        this.push(null);
        return;
      }
      const size = Math.min(chunkBytes, options.bytes - produced);
      const chunk = Buffer.allocUnsafe(size);
      for (let i = 0; i + 4 <= size; i += 4) {
        // xorshift32: cheap, deterministic, incompressible enough
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        chunk.writeUInt32LE(state >>> 0, i);
      }
      for (let i = size - (size % 4); i < size; i++) chunk[i] = i & 0xff;
      const hand = (): void => {
        produced += size;
        hash.update(chunk);
        this.push(chunk);
      };
      const waiting = options.onChunk?.(produced);
      if (waiting) waiting.then(hand, (error: unknown) => this.destroy(error as Error));
      else hand();
    },
  });
  return {
    stream,
    get produced() {
      return produced;
    },
    digest: () => digest ?? hash.copy().digest('hex'),
  };
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Streams a GET and hashes the body; rejects on a non-200 answer. */
export function sha256OfUrl(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          return;
        }
        const hash = createHash('sha256');
        res.on('data', (chunk: Buffer) => hash.update(chunk));
        res.on('end', () => resolve(hash.digest('hex')));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
