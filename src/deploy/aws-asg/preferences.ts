import type { RefreshPreferences } from '@aws-sdk/client-auto-scaling';
import { resolveLimit } from '../../rollout/limits.js';
import type { Limit } from '../../rollout/types.js';

export interface RefreshPlanInput {
  /** The group's desired capacity. */
  desiredCapacity: number;
  /** Instances replaced first, then a pause (checkpoint); 0 for none. */
  canary: number;
  /** Instances replaced at a time after the canary (the `max-concurrency` input). */
  batch: Limit;
  /** The pause at each checkpoint, for alarms and health checks to catch a bad system. */
  checkpointDelaySeconds: number;
  /** `auto`: the refresh rolls the group back by itself when it fails. */
  rollback: 'auto' | 'off';
  instanceWarmupSeconds?: number;
}

export interface RefreshPlan {
  preferences: RefreshPreferences;
  /** Instances replaced at once after the canary. */
  batchSize: number;
  /** For the log: `canary 1 of 10, then 3 at a time; checkpoints at 10%, 40%, 70%, 100%`. */
  description: string;
}

/**
 * The instance refresh's preferences from the rollout plan: checkpoints after the canary and
 * after each batch (the refresh pauses `checkpointDelaySeconds` there), `MinHealthyPercentage`
 * so that one batch is replaced at a time, skip matching (instances already on the version stay)
 * and automatic rollback.
 *
 * A checkpoint is a percentage of the group: the refresh pauses once that share is replaced, so
 * percentages round down (1 of 3 instances is 33%; 34% would need 2). They cannot be 0: a canary
 * smaller than 1% of the group pauses at 1%.
 */
export function planRefresh(input: RefreshPlanInput): RefreshPlan {
  const n = input.desiredCapacity;
  if (!Number.isInteger(n) || n < 0) throw new Error(`desired capacity ${n} is not a number of instances`);
  const batchSize = Math.max(1, Math.min(n, resolveLimit(input.batch, n, 'up')));
  const canary = Math.min(Math.max(0, input.canary), n);
  const preferences: RefreshPreferences = {
    SkipMatching: true,
    AutoRollback: input.rollback === 'auto',
    MinHealthyPercentage: n === 0 ? 90 : Math.max(0, Math.min(100, Math.floor((100 * (n - batchSize)) / n))),
  };
  if (input.instanceWarmupSeconds !== undefined) preferences.InstanceWarmup = input.instanceWarmupSeconds;

  const checkpoints: number[] = [];
  const add = (replaced: number) => {
    const percent = replaced >= n ? 100 : Math.max(1, Math.floor((100 * replaced) / n));
    if (!checkpoints.includes(percent) && (checkpoints.length === 0 || percent > (checkpoints[checkpoints.length - 1] as number))) checkpoints.push(percent);
  };
  if (n > 0) {
    if (canary > 0) add(canary);
    for (let replaced = canary + batchSize; replaced < n; replaced += batchSize) add(replaced);
    // Only worth it when the refresh pauses somewhere before the end.
    if (checkpoints.length > 0) add(n);
  }
  if (checkpoints.length > 1) {
    preferences.CheckpointPercentages = checkpoints;
    preferences.CheckpointDelay = input.checkpointDelaySeconds;
  }
  const steps = checkpoints.length > 1 ? `; checkpoints at ${checkpoints.map((p) => `${p}%`).join(', ')} (${input.checkpointDelaySeconds}s pause)` : '';
  const description = `${canary > 0 ? `canary ${canary} of ${n}, then ` : `${n} instance${n === 1 ? '' : 's'}, `}${batchSize} at a time${steps}`;
  return { preferences, batchSize, description };
}
