import { errorMessage } from '../util/errors.js';
import type { Log } from '../util/log.js';
import type { Batch, RolloutPlan } from './plan.js';
import { FAILURE_OUTCOMES, OUTCOMES, type HostResult, type Outcome } from './types.js';

/** Deploys one host; resolves with its result (the executor fills in `batch`; a rejection is recorded as `failed`). */
export type DeployOne<H> = (host: H, batch: Batch<H>, signal: AbortSignal | undefined) => Promise<Omit<HostResult, 'batch'>>;

export interface ExecuteOptions {
  log?: Log;
  /** Aborting stops the rollout after the running batch; later hosts are skipped. */
  signal?: AbortSignal;
  /** Called as each host finishes (and for each skipped host), e.g. for live progress. */
  onResult?: (result: HostResult) => void;
}

export interface RolloutReport {
  /** One per host, in plan order. */
  results: HostResult[];
  counts: Record<Outcome, number>;
  /** Host names per outcome, in plan order (for outputs such as `succeeded`, `failed`, `rolled-back`). */
  hostsByOutcome: Record<Outcome, string[]>;
  /** Results that spent the error budget. */
  failures: number;
  /** Why the remaining hosts were skipped, when they were. */
  stopped?: { afterBatch: number; reason: string };
  /** Every host succeeded. */
  ok: boolean;
  durationMs: number;
}

/**
 * Runs the batches in order, the hosts of a batch at the same time. After each batch: a failure
 * in the canary batch, more failures than `maxErrors` in total, or a cancellation stops the
 * rollout, and every host not yet started is reported `skipped`.
 */
export async function executeRollout<H extends { name: string }>(
  plan: RolloutPlan<H>,
  deployOne: DeployOne<H>,
  options: ExecuteOptions = {},
): Promise<RolloutReport> {
  const started = Date.now();
  const byHost = new Map<string, HostResult>();
  const record = (result: HostResult) => {
    byHost.set(result.host, result);
    options.onResult?.(result);
  };
  let failures = 0;
  let stopped: RolloutReport['stopped'];

  for (const batch of plan.batches) {
    if (stopped) {
      for (const host of batch.hosts) {
        record({ host: host.name, outcome: 'skipped', batch: batch.number, durationMs: 0, message: `skipped: ${stopped.reason}` });
      }
      continue;
    }
    options.log?.info(`batch ${batch.number}/${plan.batches.length}${batch.canary ? ' (canary)' : ''}: ${batch.hosts.map((h) => h.name).join(', ')}`);
    const results = await Promise.all(batch.hosts.map((host) => runOne(deployOne, host, batch, options.signal)));
    for (const result of results) record(result);
    const batchFailures = results.filter((r) => FAILURE_OUTCOMES.has(r.outcome)).length;
    failures += batchFailures;
    const reason = stopReason(plan, batch, batchFailures, failures, options.signal);
    if (reason) {
      stopped = { afterBatch: batch.number, reason };
      if (plan.batches.length > batch.number) options.log?.warning(`rollout stopped after batch ${batch.number}: ${reason}`);
    }
  }

  const results = plan.batches.flatMap((b) => b.hosts.map((h) => byHost.get(h.name) as HostResult));
  const hostsByOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, results.filter((r) => r.outcome === o).map((r) => r.host)])) as Record<Outcome, string[]>;
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, hostsByOutcome[o].length])) as Record<Outcome, number>;
  const report: RolloutReport = { results, counts, hostsByOutcome, failures, ok: counts.succeeded === results.length, durationMs: Date.now() - started };
  // A stop after the last batch skipped nothing: it is not worth reporting.
  if (stopped && stopped.afterBatch < plan.batches.length) report.stopped = stopped;
  return report;
}

function stopReason<H>(plan: RolloutPlan<H>, batch: Batch<H>, batchFailures: number, failures: number, signal?: AbortSignal): string | undefined {
  if (batch.canary && batchFailures > 0) return `the canary batch failed (${batchFailures} of ${batch.hosts.length} hosts)`;
  if (failures > plan.maxErrors) {
    return `${failures} failed ${failures === 1 ? 'host exceeds' : 'hosts exceed'} max-errors ${plan.given.maxErrors} (${plan.maxErrors})`;
  }
  if (signal?.aborted) return 'the rollout was cancelled';
  return undefined;
}

async function runOne<H extends { name: string }>(deployOne: DeployOne<H>, host: H, batch: Batch<H>, signal?: AbortSignal): Promise<HostResult> {
  const started = Date.now();
  try {
    return { ...(await deployOne(host, batch, signal)), host: host.name, batch: batch.number };
  } catch (error) {
    return { host: host.name, outcome: 'failed', batch: batch.number, durationMs: Date.now() - started, message: errorMessage(error) };
  }
}
