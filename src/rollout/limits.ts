import type { Limit } from './types.js';

/**
 * Parses `10` or `25%` (the `max-concurrency` and `max-errors` inputs). `what` names the input in
 * the error, which says what a good value looks like.
 */
export function parseLimit(text: string | number, what: string): Limit {
  const value = String(text).trim();
  const match = /^(\d+)(%?)$/.exec(value);
  if (!match) throw new Error(`${what}: "${text}" is not a host count or a percentage (examples: 5, 25%)`);
  const n = Number(match[1]);
  if (match[2]) {
    if (n > 100) throw new Error(`${what}: "${text}" is more than 100% (examples: 5, 25%)`);
    return { percent: n };
  }
  return { count: n };
}

/** The number of hosts a limit allows out of `total`; percentages of batch sizes round up, error budgets down. */
export function resolveLimit(limit: Limit, total: number, rounding: 'up' | 'down'): number {
  if ('count' in limit) return limit.count;
  const exact = (total * limit.percent) / 100;
  return rounding === 'up' ? Math.ceil(exact) : Math.floor(exact);
}

export function formatLimit(limit: Limit): string {
  return 'count' in limit ? String(limit.count) : `${limit.percent}%`;
}
