import { describe, expect, test } from '@jest/globals';
import { sleep } from '../../../src/util/async.js';
import { backoffDelay, retry, type RetryEvent } from '../../../src/util/retry.js';
import { fakeTime } from './fake-time.js';

class Flaky extends Error {}
const isFlaky = (error: unknown) => error instanceof Flaky;

/** An operation that fails `failures` times with `Flaky`, then returns `'ok'`. */
function failing(failures: number) {
  const calls: number[] = [];
  const operation = async (attempt: number) => {
    calls.push(attempt);
    if (calls.length <= failures) throw new Flaky(`failure ${calls.length}`);
    return 'ok';
  };
  return { operation, calls };
}

describe('backoffDelay', () => {
  test('full jitter stays in [0, min(max, base * 2^retry))', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    for (let retryIndex = 0; retryIndex < 12; retryIndex++) {
      const ceiling = Math.min(1000, 100 * 2 ** retryIndex);
      expect(backoffDelay(retryIndex, policy, () => 0)).toBe(0);
      expect(backoffDelay(retryIndex, policy, () => 0.999_999)).toBe(ceiling - 1);
    }
    expect(backoffDelay(2, policy, () => 0.5)).toBe(200);
  });
});

describe('retry', () => {
  test('returns the first success, numbering the attempts from 1', async () => {
    const { operation, calls } = failing(2);
    const time = fakeTime();
    await expect(retry(operation, { attempts: 5, isRetryable: isFlaky, sleep: time.sleep })).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3]);
    expect(time.pauses).toHaveLength(2);
  });

  test('pauses with full-jitter backoff by default, capped at the maximum', async () => {
    const { operation } = failing(5);
    const time = fakeTime();
    await retry(operation, { attempts: 6, baseDelayMs: 100, maxDelayMs: 1000, isRetryable: isFlaky, random: () => 0.999_999, sleep: time.sleep });
    expect(time.pauses).toEqual([99, 199, 399, 799, 999]);

    const again = failing(3);
    const early = fakeTime();
    await retry(again.operation, { attempts: 6, isRetryable: isFlaky, random: () => 0, sleep: early.sleep });
    expect(early.pauses).toEqual([0, 0, 0]);
  });

  test('a caller\'s delay replaces the backoff and sees the retry index and the error', async () => {
    const { operation } = failing(3);
    const time = fakeTime();
    const seen: string[] = [];
    await retry(operation, {
      attempts: 4,
      isRetryable: isFlaky,
      delayMs: (retryIndex, error) => {
        seen.push(`${retryIndex}: ${(error as Error).message}`);
        return 1000 * (retryIndex + 1);
      },
      sleep: time.sleep,
    });
    expect(time.pauses).toEqual([1000, 2000, 3000]);
    expect(seen).toEqual(['0: failure 1', '1: failure 2', '2: failure 3']);
  });

  test('tells onRetry about each failure before pausing', async () => {
    const { operation } = failing(2);
    const events: RetryEvent[] = [];
    await retry(operation, { attempts: 3, isRetryable: isFlaky, delayMs: () => 7, onRetry: (event) => events.push(event), sleep: fakeTime().sleep });
    expect(events.map(({ attempt, attempts, delayMs, error }) => ({ attempt, attempts, delayMs, message: (error as Error).message }))).toEqual([
      { attempt: 1, attempts: 3, delayMs: 7, message: 'failure 1' },
      { attempt: 2, attempts: 3, delayMs: 7, message: 'failure 2' },
    ]);
  });

  test('throws the last error once the attempts are used up', async () => {
    const { operation, calls } = failing(10);
    const time = fakeTime();
    await expect(retry(operation, { attempts: 3, isRetryable: isFlaky, sleep: time.sleep })).rejects.toThrow('failure 3');
    expect(calls).toEqual([1, 2, 3]);
    expect(time.pauses).toHaveLength(2);
  });

  test('exhaustedError decides what is thrown at the end, knowing how many attempts were made', async () => {
    const { operation } = failing(10);
    const failure = retry(operation, {
      attempts: 4,
      isRetryable: isFlaky,
      exhaustedError: (error, attempts) => new Error(`gave up after ${attempts} attempts: ${(error as Error).message}`),
      sleep: fakeTime().sleep,
    });
    await expect(failure).rejects.toThrow('gave up after 4 attempts: failure 4');
  });

  test('throws an error that is not retryable at once, as it is', async () => {
    const permanent = new TypeError('bad request');
    const time = fakeTime();
    let calls = 0;
    const exhaustedError = () => new Error('not this one');
    const failure = retry(async () => {
      calls++;
      throw permanent;
    }, { attempts: 5, isRetryable: isFlaky, exhaustedError, sleep: time.sleep });
    await expect(failure).rejects.toBe(permanent);
    expect(calls).toBe(1);
    expect(time.pauses).toEqual([]);
  });

  test('fewer than one attempt still makes one', async () => {
    const { operation, calls } = failing(1);
    await expect(retry(operation, { attempts: 0, isRetryable: isFlaky, sleep: fakeTime().sleep })).rejects.toThrow('failure 1');
    expect(calls).toEqual([1]);
  });

  test('with a deadline, retries until the clock passes it', async () => {
    const { operation, calls } = failing(100);
    const time = fakeTime();
    const failure = retry(operation, {
      attempts: Infinity,
      deadline: time.clock.now().getTime() + 10_000,
      isRetryable: isFlaky,
      delayMs: () => 3000,
      exhaustedError: (error, attempts) => new Error(`out of time after ${attempts}: ${(error as Error).message}`),
      clock: time.clock,
      sleep: time.sleep,
    });
    // Attempts at 0, 3, 6, 9 and 12 s; the one at 12 s is past the deadline.
    await expect(failure).rejects.toThrow('out of time after 5: failure 5');
    expect(calls).toHaveLength(5);
    expect(time.elapsed()).toBe(12_000);
  });

  test('once the signal aborts, the failure is thrown without another attempt', async () => {
    const controller = new AbortController();
    const time = fakeTime();
    let calls = 0;
    const failure = retry(async () => {
      calls++;
      controller.abort(new Error('cancelled'));
      throw new Flaky('dropped');
    }, { attempts: 5, isRetryable: isFlaky, signal: controller.signal, sleep: time.sleep });
    await expect(failure).rejects.toThrow('dropped');
    expect(calls).toBe(1);
    expect(time.pauses).toEqual([]);
  });

  test('an abort during the pause rejects with the signal\'s reason', async () => {
    const controller = new AbortController();
    const { operation, calls } = failing(10);
    const failure = retry(operation, {
      attempts: 5,
      isRetryable: isFlaky,
      delayMs: () => 3_600_000,
      onRetry: () => queueMicrotask(() => controller.abort(new Error('cancelled'))),
      signal: controller.signal,
      sleep,
    });
    await expect(failure).rejects.toThrow('cancelled');
    expect(calls).toEqual([1]);
  });
});
