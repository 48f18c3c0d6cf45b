import { sleep as realSleep, systemClock, type Clock, type Sleep } from './async.js';

export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Full jitter: uniform in [0, min(max, base * 2^retry)). `retry` counts from 0. */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** A failed attempt that is about to be retried. */
export interface RetryEvent {
  error: unknown;
  /** The attempt that failed, counting from 1. */
  attempt: number;
  attempts: number;
  /** The pause before the next attempt. */
  delayMs: number;
}

export interface RetryOptions extends Partial<BackoffPolicy> {
  /** Total attempts, the first included. `Infinity` with a `deadline` retries until then. */
  attempts: number;
  /** Whether a failure is worth another attempt; any other error is thrown at once. */
  isRetryable: (error: unknown) => boolean;
  /**
   * The pause before retry `retry` (counting from 0). Defaults to full-jitter backoff over
   * `baseDelayMs` (default 200 ms) and `maxDelayMs` (default 20 s), so that many clients retrying
   * at once do not come back in lock step.
   */
  delayMs?: (retry: number, error: unknown) => number;
  /** Called before each pause, for logging. */
  onRetry?: (event: RetryEvent) => void;
  /** What to throw once no attempt is left (or the deadline passed); defaults to the last error. */
  exhaustedError?: (lastError: unknown, attempts: number) => unknown;
  /** No new attempt starts after this time (milliseconds since the epoch on `clock`). */
  deadline?: number;
  /** Once aborted, a failure is thrown without another attempt; a pause rejects with the reason. */
  signal?: AbortSignal;
  sleep?: Sleep;
  random?: () => number;
  clock?: Clock;
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or runs out of
 * attempts (or time).
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts);
  const policy: BackoffPolicy = { baseDelayMs: options.baseDelayMs ?? 200, maxDelayMs: options.maxDelayMs ?? 20_000 };
  const delayMs = options.delayMs ?? ((retryIndex: number) => backoffDelay(retryIndex, policy, options.random));
  const clock = options.clock ?? systemClock;
  const pause = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (options.signal?.aborted || !options.isRetryable(error)) throw error;
      const outOfTime = options.deadline !== undefined && clock.now().getTime() >= options.deadline;
      if (attempt >= attempts || outOfTime) throw options.exhaustedError ? options.exhaustedError(error, attempt) : error;
      const delay = delayMs(attempt - 1, error);
      options.onRetry?.({ error, attempt, attempts, delayMs: delay });
      await pause(delay, options.signal);
    }
  }
}
