import { Readable, Transform, type TransformCallback } from 'node:stream';

/**
 * The body of `putStream`. A `Readable` can be sent once: if the upload fails midway it cannot
 * be replayed, so the store fails that key cleanly (nothing half-written stays visible) and the
 * caller's re-run uploads it again. A factory that re-creates the stream (e.g. re-serializes
 * the NAR) lets the store retry in place instead.
 */
export type StreamBody = Readable | (() => Readable);

export function isReplayable(body: StreamBody): body is () => Readable {
  return typeof body === 'function';
}

export function openBody(body: StreamBody): Readable {
  return typeof body === 'function' ? body() : body;
}

/** Counts the bytes flowing through, without buffering them. */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** Detaches the caller's stream from an attempt that gave up, so it is not left flowing. */
export function discard(stream: Readable): void {
  if (!stream.destroyed) stream.destroy();
}
