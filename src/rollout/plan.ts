import { formatLimit, resolveLimit } from './limits.js';
import type { RolloutOptions } from './types.js';

export interface Batch<H> {
  /** 1-based. */
  number: number;
  canary: boolean;
  hosts: H[];
}

export interface RolloutPlan<H> {
  batches: Batch<H>[];
  hostCount: number;
  /** Hosts in the canary batch (0: none). */
  canary: number;
  /** Hosts per batch after the canary. */
  batchSize: number;
  /** Failures tolerated; one more and the remaining hosts are skipped. */
  maxErrors: number;
  /** The limits as given, for printing (`25%` reads better than what it resolved to). */
  given: { maxConcurrency: string; maxErrors: string };
}

/**
 * Splits hosts into the canary batch and then batches of `maxConcurrency`, in the order given.
 * Hosts within a batch deploy at the same time; batches run one after another.
 */
export function planRollout<H extends { name: string }>(hosts: readonly H[], options: RolloutOptions = {}): RolloutPlan<H> {
  if (hosts.length === 0) throw new Error('the rollout has no hosts: the selection matched nothing');
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host.name)) throw new Error(`host "${host.name}" is in the rollout twice`);
    seen.add(host.name);
  }
  const canaryOption = options.canary ?? 1;
  if (!Number.isInteger(canaryOption) || canaryOption < 0) {
    throw new Error(`canary: "${canaryOption}" is not a number of hosts (examples: 0, 1, 2)`);
  }
  const total = hosts.length;
  const maxConcurrency = options.maxConcurrency ?? { count: total };
  const batchSize = Math.min(resolveLimit(maxConcurrency, total, 'up'), total);
  if (batchSize < 1) {
    throw new Error(`max-concurrency: "${formatLimit(maxConcurrency)}" allows no host at all (examples: 5, 25%)`);
  }
  const maxErrorsLimit = options.maxErrors ?? { count: 0 };
  const maxErrors = resolveLimit(maxErrorsLimit, total, 'down');
  const canary = Math.min(canaryOption, total);

  const batches: Batch<H>[] = [];
  if (canary > 0) batches.push({ number: 1, canary: true, hosts: hosts.slice(0, canary) });
  for (let i = canary; i < total; i += batchSize) {
    batches.push({ number: batches.length + 1, canary: false, hosts: hosts.slice(i, i + batchSize) });
  }
  return {
    batches,
    hostCount: total,
    canary,
    batchSize,
    maxErrors,
    given: { maxConcurrency: formatLimit(maxConcurrency), maxErrors: formatLimit(maxErrorsLimit) },
  };
}
