/** What happened to one host in a rollout. */
export type Outcome = 'succeeded' | 'degraded' | 'failed' | 'rolled-back' | 'skipped' | 'unreachable';

export const OUTCOMES: readonly Outcome[] = ['succeeded', 'degraded', 'failed', 'rolled-back', 'skipped', 'unreachable'];

/**
 * Outcomes that spend the rollout's error budget (`max-errors`). A degraded host keeps its new
 * system (units failed, but it activated) and still counts: it is what a canary is there to catch.
 */
export const FAILURE_OUTCOMES: ReadonlySet<Outcome> = new Set<Outcome>(['degraded', 'failed', 'rolled-back', 'unreachable']);

export interface HostResult {
  host: string;
  outcome: Outcome;
  /** The store path deployed (or meant to be). */
  target?: string;
  /** `/run/current-system` before the deploy. */
  before?: string;
  /** `/run/current-system` after the deploy (after the rollback, if there was one). */
  after?: string;
  /** `/run/booted-system` after the deploy. */
  booted?: string;
  /** The system profile's generation after the deploy. */
  generation?: number;
  /** The activation asked for a reboot (exit 100, e.g. a new kernel) that this deploy did not do. */
  needsReboot?: boolean;
  /** 1-based batch number (the planned one, for skipped hosts). */
  batch: number;
  durationMs: number;
  /** One line for humans: what went wrong, or what was done. */
  message: string;
}

/** `N` hosts, or `N%` of the hosts in the rollout. */
export type Limit = { count: number } | { percent: number };

export interface RolloutOptions {
  /** Hosts in the first batch (default 1); 0 for no canary batch. */
  canary?: number;
  /** Hosts per batch after the canary (default: all of them). */
  maxConcurrency?: Limit;
  /** Failures tolerated before the remaining hosts are skipped (default 0). */
  maxErrors?: Limit;
}
