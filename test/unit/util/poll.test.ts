import { describe, expect, test } from '@jest/globals';
import type { Sleep } from '../../../src/util/async.js';
import { poll } from '../../../src/util/poll.js';
import { fakeTime } from './fake-time.js';

/** A probe that answers `states` in turn (repeating the last), recording when it was asked. */
function script<T>(time: ReturnType<typeof fakeTime>, states: T[]) {
  const askedAt: number[] = [];
  const probe = async () => {
    askedAt.push(time.elapsed());
    return states[Math.min(askedAt.length, states.length) - 1] as T;
  };
  return { probe, askedAt };
}

const isDone = (state: string) => state === 'done';

describe('poll', () => {
  test('probes every interval until done, telling the probe the deadline', async () => {
    const time = fakeTime();
    const start = time.clock.now().getTime();
    const deadlines: number[] = [];
    const { probe, askedAt } = script(time, ['running', 'running', 'done']);
    const end = await poll(async (deadline) => {
      deadlines.push(deadline);
      return probe();
    }, { isDone, timeoutMs: 60_000, intervalMs: 10_000, clock: time.clock, sleep: time.sleep });
    expect(end).toEqual({ value: 'done', ended: 'done' });
    expect(askedAt).toEqual([0, 10_000, 20_000]);
    expect(deadlines).toEqual([start + 60_000, start + 60_000, start + 60_000]);
  });

  test('a done first answer neither pauses nor cancels', async () => {
    const time = fakeTime();
    let cancelled = false;
    const end = await poll(script(time, ['done']).probe, {
      isDone,
      timeoutMs: 1000,
      intervalMs: 100,
      cancel: async () => void (cancelled = true),
      settle: { withinMs: 1000, intervalMs: 100 },
      clock: time.clock,
      sleep: time.sleep,
    });
    expect(end.ended).toBe('done');
    expect(time.pauses).toEqual([]);
    expect(cancelled).toBe(false);
  });

  test('cuts the last pause short at the deadline and ends with the last answer', async () => {
    const time = fakeTime();
    const { probe, askedAt } = script(time, ['queued', 'running']);
    const end = await poll(probe, { isDone, timeoutMs: 25_000, intervalMs: 10_000, clock: time.clock, sleep: time.sleep });
    expect(end).toEqual({ value: 'running', ended: 'timed-out' });
    expect(time.pauses).toEqual([10_000, 10_000, 5000]);
    expect(askedAt).toEqual([0, 10_000, 20_000, 25_000]);
  });

  test('at the deadline, cancels once with the last answer, then settles until done', async () => {
    const time = fakeTime();
    const { probe, askedAt } = script(time, ['running', 'running', 'cancelling', 'cancelling', 'done']);
    const cancelled: string[] = [];
    const end = await poll(probe, {
      isDone,
      timeoutMs: 10_000,
      intervalMs: 10_000,
      cancel: async (last) => void cancelled.push(`${last} at ${time.elapsed()}`),
      settle: { withinMs: 60_000, intervalMs: 5000 },
      clock: time.clock,
      sleep: time.sleep,
    });
    expect(cancelled).toEqual(['running at 10000']);
    expect(end).toEqual({ value: 'done', ended: 'timed-out' });
    expect(askedAt).toEqual([0, 10_000, 10_000, 15_000, 20_000]);
  });

  test('the settle wait has its own deadline', async () => {
    const time = fakeTime();
    const { probe, askedAt } = script(time, ['running']);
    const end = await poll(probe, {
      isDone,
      timeoutMs: 0,
      intervalMs: 10_000,
      cancel: async () => {},
      settle: { withinMs: 12_000, intervalMs: 5000 },
      clock: time.clock,
      sleep: time.sleep,
    });
    expect(end).toEqual({ value: 'running', ended: 'timed-out' });
    expect(askedAt).toEqual([0, 0, 5000, 10_000, 15_000]);
  });

  test('initialDelayMs pauses before the first probe, within the timeout', async () => {
    const time = fakeTime();
    const { probe, askedAt } = script(time, ['old', 'old', 'new']);
    const end = await poll(probe, { isDone: (s) => s === 'new', timeoutMs: 2500, intervalMs: 1000, initialDelayMs: 1000, clock: time.clock, sleep: time.sleep });
    expect(end.ended).toBe('done');
    expect(askedAt).toEqual([1000, 2000, 2500]);
  });

  test('an interval of 0 probes again at once (the probe is a long poll)', async () => {
    const time = fakeTime();
    const { probe, askedAt } = script(time, ['a', 'b', 'done']);
    await poll(probe, { isDone, timeoutMs: 1000, intervalMs: 0, clock: time.clock, sleep: time.sleep });
    expect(askedAt).toEqual([0, 0, 0]);
    expect(time.pauses).toEqual([]);
  });

  test('an abort during a pause ends the wait after one last probe; cancel and settle still run, ignoring the signal', async () => {
    const time = fakeTime();
    const controller = new AbortController();
    const settleSignals: Array<AbortSignal | undefined> = [];
    const abortingSleep: Sleep = async (ms, signal) => {
      if (!signal) {
        settleSignals.push(signal);
        return time.sleep(ms);
      }
      await time.sleep(ms / 2);
      controller.abort(new Error('cancelled'));
      throw signal.reason;
    };
    const { probe, askedAt } = script(time, ['running', 'running', 'running', 'done']);
    let cancels = 0;
    const end = await poll(probe, {
      isDone,
      timeoutMs: 60_000,
      intervalMs: 10_000,
      cancel: async () => void cancels++,
      settle: { withinMs: 60_000, intervalMs: 5000 },
      signal: controller.signal,
      clock: time.clock,
      sleep: abortingSleep,
    });
    expect(end).toEqual({ value: 'done', ended: 'aborted' });
    expect(askedAt).toEqual([0, 5000, 5000, 10_000]);
    expect(cancels).toBe(1);
    expect(settleSignals).toEqual([undefined]);
  });

  test('an already aborted signal gets one probe', async () => {
    const time = fakeTime();
    const { probe, askedAt } = script(time, ['running']);
    const end = await poll(probe, { isDone, timeoutMs: 60_000, intervalMs: 10_000, signal: AbortSignal.abort(), clock: time.clock, sleep: time.sleep });
    expect(end).toEqual({ value: 'running', ended: 'aborted' });
    expect(askedAt).toEqual([0]);
  });

  test('errors of the probe, the cancel and a failing pause are thrown', async () => {
    const time = fakeTime();
    const broken = poll(async () => {
      throw new Error('describe failed');
    }, { isDone, timeoutMs: 1000, intervalMs: 100, clock: time.clock, sleep: time.sleep });
    await expect(broken).rejects.toThrow('describe failed');

    const cancelFails = poll(script(time, ['running']).probe, {
      isDone,
      timeoutMs: 0,
      intervalMs: 100,
      cancel: async () => {
        throw new Error('cancel refused');
      },
      clock: time.clock,
      sleep: time.sleep,
    });
    await expect(cancelFails).rejects.toThrow('cancel refused');

    const pauseFails = poll(script(time, ['running']).probe, {
      isDone,
      timeoutMs: 1000,
      intervalMs: 100,
      clock: time.clock,
      sleep: async () => {
        throw new Error('timer broke');
      },
    });
    await expect(pauseFails).rejects.toThrow('timer broke');
  });
});
