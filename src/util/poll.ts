import { sleep as realSleep, systemClock, type Clock, type Sleep } from './async.js';

/** Why the wait ended: the probe said done, the deadline passed, or the signal aborted. */
export type PollEnding = 'done' | 'timed-out' | 'aborted';

export interface PollEnd<T> {
  /** What the last probe returned (after a cancel, the last probe of the settle wait). */
  value: T;
  ended: PollEnding;
}

/** The options of a wait that polls, cancels what it waited for when time runs out, and lets it settle. */
export interface CancellableWaitOptions {
  timeoutMs: number;
  pollIntervalMs?: number;
  /** How long to wait for what was cancelled to settle. */
  cancelWaitMs?: number;
  clock?: Clock;
  sleep?: Sleep;
  signal?: AbortSignal;
}

export interface PollOptions<T> {
  isDone: (value: T) => boolean;
  timeoutMs: number;
  /** Between probes; the last pause is cut short at the deadline. 0 probes again at once (a long poll). */
  intervalMs: number;
  /** A pause before the first probe, counted in the timeout (what is watched needs a moment to change). */
  initialDelayMs?: number;
  /** Runs once when the wait ends early, with the last value: stops what was being waited for. */
  cancel?: (last: T) => Promise<void>;
  /**
   * After an early end (and the cancel), keeps probing until done or `withinMs` has passed, so the
   * result says how the cancelled work ended. Ignores the signal: the wait was already cut short.
   */
  settle?: { withinMs: number; intervalMs: number };
  /** An abort ends the wait after one last probe, like the deadline. */
  signal?: AbortSignal;
  clock?: Clock;
  sleep?: Sleep;
}

/**
 * Calls `probe` until `isDone` says so, the timeout passes or the signal aborts. The probe is
 * told the deadline (milliseconds since the epoch on `clock`) so a long poll can size itself.
 * Errors from the probe, the cancel and a pause that was not aborted are thrown.
 */
export async function poll<T>(probe: (deadline: number) => Promise<T>, options: PollOptions<T>): Promise<PollEnd<T>> {
  const clock = options.clock ?? systemClock;
  const pause = options.sleep ?? realSleep;
  const now = () => clock.now().getTime();
  const deadline = now() + options.timeoutMs;

  const pauseUnlessAborted = async (ms: number) => {
    if (ms <= 0) return;
    try {
      await pause(ms, options.signal);
    } catch (error) {
      if (!options.signal?.aborted) throw error;
    }
  };

  const endingAfter = (value: T): PollEnding | undefined => {
    if (options.isDone(value)) return 'done';
    if (now() >= deadline) return 'timed-out';
    return options.signal?.aborted ? 'aborted' : undefined;
  };

  if (options.initialDelayMs) await pauseUnlessAborted(Math.min(options.initialDelayMs, deadline - now()));
  let value = await probe(deadline);
  let ended = endingAfter(value);
  while (!ended) {
    await pauseUnlessAborted(Math.min(options.intervalMs, deadline - now()));
    value = await probe(deadline);
    ended = endingAfter(value);
  }
  if (ended === 'done') return { value, ended };

  await options.cancel?.(value);
  if (!options.settle) return { value, ended };
  const settleBy = now() + options.settle.withinMs;
  for (;;) {
    value = await probe(settleBy);
    if (options.isDone(value) || now() >= settleBy) return { value, ended };
    await pause(options.settle.intervalMs);
  }
}
