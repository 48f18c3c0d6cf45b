import { backoffDelay, isDroppedConnection, isTransientError, withRetry } from '../../../src/cache/retry.js';
import { parseRetryAfter, StoreError } from '../../../src/cache/stores/store-error.js';
import { memoryLog } from '../../../src/util/log.js';

const noSleep = { sleep: async () => {} };

describe('backoffDelay', () => {
  test('full jitter: uniform below the exponential ceiling, capped', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(10, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });
});

describe('isTransientError', () => {
  test.each([
    ['a 503 StoreError', new StoreError('x', { status: 503, retryable: true }), true],
    ['a 404 StoreError', new StoreError('x', { status: 404 }), false],
    ['S3 SlowDown', Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }), true],
    ['an SDK 500', Object.assign(new Error('boom'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }), true],
    ['an SDK 429', Object.assign(new Error('slow'), { name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } }), true],
    ['an SDK 501', Object.assign(new Error('no'), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }), false],
    ['AccessDenied', Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), false],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['EPIPE', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), true],
    ['ETIMEDOUT', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), true],
    ['socket hang up', new Error('socket hang up'), true],
    ['a wrapped reset', new Error('upload failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }), true],
    ['the SDK wrapper of a reset', new Error('AWS SDK error wrapper for TimeoutError: read ECONNRESET'), true],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
    ['an abort', Object.assign(new Error('aborted by user'), { name: 'AbortError' }), false],
    ['a plain bug', new TypeError('x is undefined'), false],
  ])('%s → %s', (_label, error, expected) => {
    expect(isTransientError(error)).toBe(expected);
  });

  test('isDroppedConnection looks through AggregateError', () => {
    expect(isDroppedConnection(new AggregateError([Object.assign(new Error('a'), { code: 'ETIMEDOUT' })]))).toBe(true);
    expect(isDroppedConnection('ECONNRESET as a string is not an error')).toBe(false);
  });
});

describe('withRetry', () => {
  test('retries transient failures, then returns the result', async () => {
    const log = memoryLog();
    let calls = 0;
    const result = await withRetry(async (attempt) => {
      calls++;
      if (attempt < 3) throw new StoreError('PUT http://c/x failed: HTTP 503', { status: 503, retryable: true });
      return 'ok';
    }, { what: 'PUT http://c/x', log, ...noSleep });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(log.lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  test('does not retry a permanent failure', async () => {
    let calls = 0;
    const error = new StoreError('PUT http://c/x failed: HTTP 403', { status: 403 });
    await expect(withRetry(async () => {
      calls++;
      throw error;
    }, { what: 'PUT http://c/x', ...noSleep })).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  test('gives up after the attempts with a message saying so and keeping the hint', async () => {
    const failing = withRetry(async () => {
      throw new StoreError('GET http://c/x failed: HTTP 503', { status: 503, retryable: true, hint: 'Check the server' });
    }, { what: 'GET http://c/x', attempts: 4, ...noSleep });
    await expect(failing).rejects.toThrow('GET http://c/x failed: HTTP 503 (gave up after 4 attempts). Check the server');
  });

  test('a non-StoreError that stays transient is wrapped with what was attempted', async () => {
    const failing = withRetry(async () => {
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }, { what: 'HEAD http://c/x', attempts: 2, ...noSleep });
    await expect(failing).rejects.toThrow(/HEAD http:\/\/c\/x failed after 2 attempts: socket hang up.*re-run/);
  });

  test('waits with jittered backoff, at least the server\'s Retry-After, at most the cap', async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(async () => {
      calls++;
      if (calls === 1) throw new StoreError('x', { retryable: true });
      if (calls === 2) throw new StoreError('x', { retryable: true, retryAfterMs: 3000 });
      if (calls === 3) throw new StoreError('x', { retryable: true, retryAfterMs: 3_600_000 });
      return undefined;
    }, { what: 'x', baseDelayMs: 100, maxDelayMs: 5000, random: () => 0.5, sleep: async (ms) => void delays.push(ms) });
    expect(delays).toEqual([50, 3000, 5000]);
  });

  test('an aborted signal stops the retries', async () => {
    const controller = new AbortController();
    let calls = 0;
    const failing = withRetry(async () => {
      calls++;
      controller.abort(new Error('cancelled'));
      throw new StoreError('x', { retryable: true });
    }, { what: 'x', signal: controller.signal, ...noSleep });
    await expect(failing).rejects.toThrow('x');
    expect(calls).toBe(1);
  });
});

describe('parseRetryAfter', () => {
  test('seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
