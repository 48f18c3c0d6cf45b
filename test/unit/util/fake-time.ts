import type { Clock, Sleep } from '../../../src/util/async.js';

/** A clock that only moves when something sleeps on it; every pause is recorded. */
export function fakeTime(start = Date.parse('2025-03-01T10:00:00Z')): { clock: Clock; sleep: Sleep; pauses: number[]; elapsed: () => number } {
  let now = start;
  const pauses: number[] = [];
  return {
    clock: { now: () => new Date(now) },
    sleep: async (ms) => {
      pauses.push(ms);
      now += ms;
    },
    pauses,
    elapsed: () => now - start,
  };
}
