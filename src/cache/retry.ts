import type { Sleep } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import type { Log } from '../util/log.js';
import { backoffDelay, retry, type BackoffPolicy } from '../util/retry.js';
import { StoreError } from './stores/store-error.js';

/**
 * Retries with exponential backoff and full jitter (delay = random(0, min(max, base * 2^n))),
 * the AWS-recommended shape: 32 uploads retrying at once do not come back in lock step.
 *
 * What is retried: HTTP 5xx (except 501), 429 and 408, S3 throttling codes (`SlowDown`, …) and
 * dropped connections (ECONNRESET, EPIPE, ETIMEDOUT, "socket hang up", a response cut short).
 * A request is retried only when its body can be sent again: a Buffer always can, a stream only
 * when the caller hands over a factory that re-creates it (see `StreamBody`).
 */
export interface RetryPolicy extends BackoffPolicy {
  /** Total attempts, the first included. */
  attempts: number;
}

/** The stores' backoff; the S3 client's SDK retry strategy uses it too. */
export { backoffDelay };

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, baseDelayMs: 200, maxDelayMs: 20_000 };

export interface RetryOptions extends Partial<RetryPolicy> {
  /** What is being done, for messages: `PUT https://cache.example.org/nar/x.nar.zst`. */
  what: string;
  log?: Log;
  signal?: AbortSignal;
  /** Decides whether a failure is worth another attempt; defaults to `isTransientError`. */
  isRetryable?: (error: unknown) => boolean;
  /** Injected by tests. */
  random?: () => number;
  sleep?: Sleep;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** Some layers (the AWS SDK) wrap the socket error and keep only its message. */
const DROPPED_MESSAGE = /socket hang up|premature close|^aborted$|\b(ECONNRESET|EPIPE|ETIMEDOUT|ECONNABORTED)\b/i;

/** S3 error names that mean "slow down" or "try again". */
const S3_TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'TimeoutError',
]);

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status <= 599);
}

/** True for a connection dropped or timed out mid-request, whatever layer reported it. */
export function isDroppedConnection(error: unknown): boolean {
  return walkCauses(error, (e) => {
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    return RETRYABLE_CODES.has(code) || DROPPED_MESSAGE.test(message);
  });
}

/** Whether another attempt may succeed: overload, throttling, server errors, dropped connections. */
export function isTransientError(error: unknown): boolean {
  if (error instanceof StoreError) return error.retryable;
  return (
    isDroppedConnection(error) ||
    walkCauses(error, (e) => {
      if (e.name === 'AbortError') return false;
      if (typeof e.name === 'string' && S3_TRANSIENT_NAMES.has(e.name)) return true;
      const metadata = e.$metadata as { httpStatusCode?: number } | undefined;
      const status = metadata?.httpStatusCode ?? (typeof e.status === 'number' ? e.status : undefined);
      return status !== undefined && isRetryableStatus(status);
    })
  );
}

type ErrorLike = Record<string, unknown>;

function walkCauses(error: unknown, test: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 8) return false;
  const e = error as ErrorLike;
  if (test(e)) return true;
  if (e.cause !== undefined && walkCauses(e.cause, test, depth + 1)) return true;
  // AggregateError from happy-eyeballs connects
  if (Array.isArray(e.errors)) return e.errors.some((inner) => walkCauses(inner, test, depth + 1));
  return false;
}

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, or runs out of attempts.
 * Waits at least as long as a `StoreError` says the server asked (Retry-After), at most the cap.
 * The final error names what was attempted and how often; a `StoreError` keeps its hint.
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy: RetryPolicy = {
    attempts: Math.max(1, options.attempts ?? defaultRetryPolicy.attempts),
    baseDelayMs: options.baseDelayMs ?? defaultRetryPolicy.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? defaultRetryPolicy.maxDelayMs,
  };
  return retry(operation, {
    attempts: policy.attempts,
    isRetryable: options.isRetryable ?? isTransientError,
    delayMs: (retryIndex, error) => Math.max(backoffDelay(retryIndex, policy, options.random), retryAfterHint(error, policy.maxDelayMs)),
    onRetry: ({ error, attempt, delayMs }) => options.log?.debug(`${options.what}: ${errorMessage(error)}; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${policy.attempts})`),
    exhaustedError: (error, attempts) => exhausted(error, options.what, attempts),
    signal: options.signal,
    sleep: options.sleep,
  });
}

function retryAfterHint(error: unknown, maxDelayMs: number): number {
  return error instanceof StoreError && error.retryAfterMs !== undefined ? Math.min(error.retryAfterMs, maxDelayMs) : 0;
}

function exhausted(error: unknown, what: string, attempts: number): Error {
  if (error instanceof StoreError) return error.afterAttempts(attempts);
  return new StoreError(`${what} failed after ${attempts} attempts: ${errorMessage(error)}`, {
    hint: 'The cache kept failing with transient errors (overload or dropped connections); check the cache server and network, then re-run: objects already uploaded are skipped.',
    retryable: true,
    cause: error,
  });
}
