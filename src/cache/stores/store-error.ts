import { UserError } from '../../util/errors.js';

export interface StoreErrorDetails {
  /** The object's address with credentials removed. */
  url?: string;
  key?: string;
  /** HTTP status, when the server answered. */
  status?: number;
  /** Whether another attempt may succeed (overload, dropped connection). */
  retryable?: boolean;
  /** The server's Retry-After, in milliseconds. */
  retryAfterMs?: number;
  /** What the user can do about it. */
  hint?: string;
  cause?: unknown;
}

/** A cache operation that failed; the message names the object and what to do. */
export class StoreError extends UserError {
  override name = 'StoreError';
  readonly url: string | undefined;
  readonly key: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;
  /** The message without the hint, so a retry wrapper can restate it. */
  readonly summary: string;

  constructor(summary: string, details: StoreErrorDetails = {}) {
    super(details.hint ? `${summary}. ${details.hint}` : summary, details.cause === undefined ? undefined : { cause: details.cause });
    this.summary = summary;
    this.url = details.url;
    this.key = details.key;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.hint = details.hint;
  }

  /** The same failure, restated after the retries ran out. */
  afterAttempts(attempts: number): StoreError {
    return new StoreError(`${this.summary} (gave up after ${attempts} attempts)`, {
      url: this.url,
      key: this.key,
      status: this.status,
      retryable: this.retryable,
      hint: this.hint,
      cause: this,
    });
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
