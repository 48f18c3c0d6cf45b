import { describe, expect, it } from '@jest/globals';
import { parseLimit, resolveLimit } from '../../../src/rollout/limits.js';
import { planRollout } from '../../../src/rollout/plan.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}` }));
const names = (plan: ReturnType<typeof planRollout<{ name: string }>>) => plan.batches.map((b) => b.hosts.map((h) => h.name));

describe('parseLimit', () => {
  it('reads counts and percentages', () => {
    expect(parseLimit('10', 'max-concurrency')).toEqual({ count: 10 });
    expect(parseLimit(' 25% ', 'max-concurrency')).toEqual({ percent: 25 });
    expect(parseLimit(3, 'max-errors')).toEqual({ count: 3 });
    expect(parseLimit('0', 'max-errors')).toEqual({ count: 0 });
  });

  it('names the input and shows good values when refusing', () => {
    expect(() => parseLimit('ten', 'max-concurrency')).toThrow('max-concurrency: "ten" is not a host count or a percentage (examples: 5, 25%)');
    expect(() => parseLimit('-1', 'max-errors')).toThrow('max-errors');
    expect(() => parseLimit('1.5', 'max-errors')).toThrow('not a host count');
    expect(() => parseLimit('150%', 'max-errors')).toThrow('more than 100%');
  });

  it('rounds batch sizes up and error budgets down', () => {
    expect(resolveLimit({ percent: 25 }, 10, 'up')).toBe(3);
    expect(resolveLimit({ percent: 25 }, 10, 'down')).toBe(2);
    expect(resolveLimit({ percent: 10 }, 5, 'down')).toBe(0);
    expect(resolveLimit({ count: 4 }, 10, 'up')).toBe(4);
  });
});

describe('planRollout', () => {
  it('puts one canary first, then batches of max-concurrency, in the given order', () => {
    const plan = planRollout(hosts(8), { maxConcurrency: { count: 3 } });
    expect(names(plan)).toEqual([['h1'], ['h2', 'h3', 'h4'], ['h5', 'h6', 'h7'], ['h8']]);
    expect(plan.batches.map((b) => b.canary)).toEqual([true, false, false, false]);
    expect(plan.batches.map((b) => b.number)).toEqual([1, 2, 3, 4]);
    expect(plan.maxErrors).toBe(0);
  });

  it('deploys everything after the canary at once without max-concurrency', () => {
    expect(names(planRollout(hosts(4)))).toEqual([['h1'], ['h2', 'h3', 'h4']]);
  });

  it('takes a larger canary, or none', () => {
    expect(names(planRollout(hosts(5), { canary: 2, maxConcurrency: { count: 2 } }))).toEqual([['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    const plan = planRollout(hosts(5), { canary: 0, maxConcurrency: { count: 2 } });
    expect(names(plan)).toEqual([['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    expect(plan.batches.some((b) => b.canary)).toBe(false);
  });

  it('caps a canary larger than the fleet', () => {
    const plan = planRollout(hosts(2), { canary: 5 });
    expect(names(plan)).toEqual([['h1', 'h2']]);
    expect(plan.canary).toBe(2);
  });

  it('resolves percentages against the whole rollout', () => {
    const plan = planRollout(hosts(10), { maxConcurrency: { percent: 25 }, maxErrors: { percent: 20 } });
    expect(plan.batchSize).toBe(3);
    expect(plan.maxErrors).toBe(2);
    expect(plan.given).toEqual({ maxConcurrency: '25%', maxErrors: '20%' });
    expect(names(plan).map((b) => b.length)).toEqual([1, 3, 3, 3]);
  });

  it('refuses an empty rollout, duplicate hosts, a zero batch size and a bad canary', () => {
    expect(() => planRollout([])).toThrow('the rollout has no hosts');
    expect(() => planRollout([{ name: 'a' }, { name: 'a' }])).toThrow('host "a" is in the rollout twice');
    expect(() => planRollout(hosts(3), { maxConcurrency: { count: 0 } })).toThrow('max-concurrency: "0" allows no host at all');
    expect(() => planRollout(hosts(3), { maxConcurrency: { percent: 0 } })).toThrow('max-concurrency: "0%"');
    expect(() => planRollout(hosts(3), { canary: -1 })).toThrow('canary');
    expect(() => planRollout(hosts(3), { canary: 1.5 })).toThrow('canary');
  });
});
