import { describe, expect, it } from '@jest/globals';
import { executeRollout } from '../../../src/rollout/execute.js';
import { planRollout } from '../../../src/rollout/plan.js';
import type { HostResult, Outcome } from '../../../src/rollout/types.js';
import { memoryLog } from '../../../src/util/log.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}` }));

/** A deployer whose hosts end as told (default succeeded), recording which ran and how many at once. */
function fakeDeployer(outcomes: Record<string, Outcome | Error> = {}) {
  const ran: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const deployOne = async (host: { name: string }): Promise<Omit<HostResult, 'batch'>> => {
    ran.push(host.name);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    const outcome = outcomes[host.name] ?? 'succeeded';
    if (outcome instanceof Error) throw outcome;
    return { host: host.name, outcome, durationMs: 5, message: outcome };
  };
  return { deployOne, ran, maxInFlight: () => maxInFlight };
}

const outcomesOf = (results: HostResult[]) => Object.fromEntries(results.map((r) => [r.host, r.outcome]));

describe('executeRollout', () => {
  it('runs every batch in order, the hosts of a batch together', async () => {
    const plan = planRollout(hosts(7), { maxConcurrency: { count: 3 } });
    const fake = fakeDeployer();
    const report = await executeRollout(plan, fake.deployOne);
    expect(fake.ran).toEqual(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7']);
    expect(fake.maxInFlight()).toBe(3);
    expect(report.ok).toBe(true);
    expect(report.counts.succeeded).toBe(7);
    expect(report.results.map((r) => r.batch)).toEqual([1, 2, 2, 2, 3, 3, 3]);
    expect(report.stopped).toBeUndefined();
  });

  it('stops after a failed canary even when max-errors would allow more', async () => {
    const plan = planRollout(hosts(5), { maxConcurrency: { count: 2 }, maxErrors: { count: 3 } });
    const fake = fakeDeployer({ h1: 'rolled-back' });
    const log = memoryLog();
    const report = await executeRollout(plan, fake.deployOne, { log });
    expect(fake.ran).toEqual(['h1']);
    expect(outcomesOf(report.results)).toEqual({ h1: 'rolled-back', h2: 'skipped', h3: 'skipped', h4: 'skipped', h5: 'skipped' });
    expect(report.stopped).toEqual({ afterBatch: 1, reason: 'the canary batch failed (1 of 1 hosts)' });
    expect(report.results[1]).toMatchObject({ outcome: 'skipped', batch: 2, message: 'skipped: the canary batch failed (1 of 1 hosts)' });
    expect(report.ok).toBe(false);
    expect(log.lines).toContain('warning: rollout stopped after batch 1: the canary batch failed (1 of 1 hosts)');
  });

  it('goes on while failures stay within max-errors, and skips the rest once they exceed it', async () => {
    const plan = planRollout(hosts(7), { maxConcurrency: { count: 2 }, maxErrors: { count: 1 } });
    const fake = fakeDeployer({ h2: 'failed', h5: 'unreachable' });
    const report = await executeRollout(plan, fake.deployOne);
    // Batches: [h1] [h2 h3] [h4 h5] [h6 h7]: the second failure comes in batch 3.
    expect(fake.ran).toEqual(['h1', 'h2', 'h3', 'h4', 'h5']);
    expect(outcomesOf(report.results)).toEqual({ h1: 'succeeded', h2: 'failed', h3: 'succeeded', h4: 'succeeded', h5: 'unreachable', h6: 'skipped', h7: 'skipped' });
    expect(report.failures).toBe(2);
    expect(report.hostsByOutcome).toEqual({ succeeded: ['h1', 'h3', 'h4'], degraded: [], failed: ['h2'], 'rolled-back': [], skipped: ['h6', 'h7'], unreachable: ['h5'] });
    expect(report.stopped?.reason).toBe('2 failed hosts exceed max-errors 1 (1)');
  });

  it('counts degraded hosts against the budget', async () => {
    const plan = planRollout(hosts(3), { canary: 0, maxConcurrency: { count: 1 } });
    const report = await executeRollout(plan, fakeDeployer({ h1: 'degraded' }).deployOne);
    expect(outcomesOf(report.results)).toEqual({ h1: 'degraded', h2: 'skipped', h3: 'skipped' });
  });

  it('records a deployer that throws as a failed host', async () => {
    const plan = planRollout(hosts(2), { canary: 0 });
    const report = await executeRollout(plan, fakeDeployer({ h2: new Error('boom') }).deployOne);
    expect(report.results[1]).toMatchObject({ host: 'h2', outcome: 'failed', message: 'boom', batch: 1 });
  });

  it('does not report a stop that skipped nothing', async () => {
    const plan = planRollout(hosts(3), { maxConcurrency: { count: 2 } });
    const report = await executeRollout(plan, fakeDeployer({ h3: 'failed' }).deployOne);
    expect(report.stopped).toBeUndefined();
    expect(report.counts).toMatchObject({ succeeded: 2, failed: 1, skipped: 0 });
  });

  it('finishes the running batch when cancelled and skips the rest', async () => {
    const plan = planRollout(hosts(4), { maxConcurrency: { count: 1 } });
    const controller = new AbortController();
    const fake = fakeDeployer();
    const seen: string[] = [];
    const report = await executeRollout(
      plan,
      async (host) => {
        if (host.name === 'h2') controller.abort();
        return fake.deployOne(host);
      },
      { signal: controller.signal, onResult: (r) => seen.push(`${r.host}:${r.outcome}`) },
    );
    expect(fake.ran).toEqual(['h1', 'h2']);
    expect(report.stopped).toEqual({ afterBatch: 2, reason: 'the rollout was cancelled' });
    expect(seen).toEqual(['h1:succeeded', 'h2:succeeded', 'h3:skipped', 'h4:skipped']);
  });
});
