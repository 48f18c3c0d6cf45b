import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { StreamBody } from '../store.js';

/**
 * The body of `putStream`. A `Readable` can be sent once: if the upload fails midway it cannot
 * be replayed, so the store fails that key cleanly (nothing half-written stays visible) and the
 * caller's re-run uploads it again. A factory that re-creates the stream (e.g. re-serializes
 * the NAR) lets the store retry in place instead.
 */
export type { StreamBody };

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

/**
 * The caller's stream piped through a byte counter. Errors of the source itself are kept apart
 * from the destination's (a cut connection, a full disk), so a failure can say which side broke;
 * `stop()` detaches and destroys the source after a failed attempt.
 */
export interface CountedBody {
  stream: ByteCounter;
  sourceError(): unknown;
  stop(): void;
}

export function countedBody(body: StreamBody): CountedBody {
  const source = openBody(body);
  const counter = new ByteCounter();
  let failure: unknown;
  // Whoever consumes the counter sees its error (pipeline checks `errored`); until one is
  // attached, an error must not surface as an unhandled 'error' event.
  counter.on('error', () => {});
  source.on('error', (error) => {
    failure ??= error;
    counter.destroy(error);
  });
  if (source.errored || (source.destroyed && !source.readableEnded)) {
    // Broken before we got it: its error was emitted already and will not come again.
    failure = source.errored ?? new Error('the stream was destroyed before the upload began');
    counter.destroy(failure as Error);
  } else {
    source.pipe(counter);
  }
  return {
    stream: counter,
    sourceError: () => failure,
    stop: () => {
      source.unpipe(counter);
      if (!source.destroyed) source.destroy();
      if (!counter.destroyed) counter.destroy();
    },
  };
}
