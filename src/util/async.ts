import { MAX_TIMER_MS } from './duration.js';

/** Runs `worker` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. Tests inject their own. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Refuses delays Node would cut to 1 ms (inputs are capped well below; this catches a sum that is not). */
export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (ms > MAX_TIMER_MS) {
      reject(new RangeError(`cannot wait ${ms} ms: Node's timers stop at ${MAX_TIMER_MS} ms (about 24.8 days)`));
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/** A clock the core asks for the time, so tests can move it. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
