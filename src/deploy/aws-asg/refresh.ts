import {
  ActiveInstanceRefreshNotFoundFault,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  StartInstanceRefreshCommand,
  type AutoScalingClient,
  type DesiredConfiguration,
  type InstanceRefresh,
  type InstanceRefreshStatus,
  type RefreshPreferences,
} from '@aws-sdk/client-auto-scaling';
import type { Outcome } from '../../rollout/types.js';
import { sleep as realSleep, systemClock, type Clock } from '../../util/async.js';
import { formatDuration } from '../../util/duration.js';
import type { Log } from '../../util/log.js';
import { AsgError } from './launch-template.js';

const FINAL: ReadonlySet<InstanceRefreshStatus> = new Set<InstanceRefreshStatus>(['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']);

/** Starts a rolling refresh to the desired configuration; explains a refresh already running. */
export async function startInstanceRefresh(
  client: AutoScalingClient,
  groupName: string,
  desired: DesiredConfiguration,
  preferences: RefreshPreferences,
): Promise<string> {
  try {
    const out = await client.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: groupName, Strategy: 'Rolling', DesiredConfiguration: desired, Preferences: preferences }));
    if (!out.InstanceRefreshId) throw new AsgError(`Auto Scaling started no instance refresh for ${groupName}`);
    return out.InstanceRefreshId;
  } catch (error) {
    if (error instanceof InstanceRefreshInProgressFault) {
      throw new AsgError(`${groupName} has an instance refresh in progress already (${error.message}); wait for it or cancel it (aws autoscaling cancel-instance-refresh --auto-scaling-group-name ${groupName})`);
    }
    throw error;
  }
}

export async function describeInstanceRefresh(client: AutoScalingClient, groupName: string, id: string): Promise<InstanceRefresh> {
  const out = await client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: groupName, InstanceRefreshIds: [id] }));
  const refresh = out.InstanceRefreshes?.find((r) => r.InstanceRefreshId === id);
  if (!refresh) throw new AsgError(`instance refresh ${id} of ${groupName} is not listed`);
  return refresh;
}

export interface RefreshEnd {
  refresh: InstanceRefresh;
  /** The wait ran out and the refresh was cancelled. */
  timedOut: boolean;
}

export interface WaitRefreshOptions {
  timeoutMs: number;
  /** Default 30 s. */
  pollIntervalMs?: number;
  /** How long to wait for a cancelled refresh to settle (default 10 minutes). */
  cancelWaitMs?: number;
  clock?: Clock;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  log?: Log;
}

/** Polls the refresh until it ends; on timeout (or abort) cancels it and waits for it to settle. */
export async function waitForInstanceRefresh(client: AutoScalingClient, groupName: string, id: string, options: WaitRefreshOptions): Promise<RefreshEnd> {
  const clock = options.clock ?? systemClock;
  const pause = options.sleep ?? realSleep;
  const poll = options.pollIntervalMs ?? 30_000;
  const deadline = clock.now().getTime() + options.timeoutMs;
  let last = '';
  const progress = (refresh: InstanceRefresh) => {
    const line = `${groupName}: instance refresh ${refresh.Status}${refresh.PercentageComplete !== undefined ? ` ${refresh.PercentageComplete}%` : ''}${refresh.InstancesToUpdate !== undefined ? `, ${refresh.InstancesToUpdate} to update` : ''}${refresh.StatusReason ? ` (${refresh.StatusReason})` : ''}`;
    if (line !== last) options.log?.info(line);
    last = line;
  };

  for (;;) {
    const refresh = await describeInstanceRefresh(client, groupName, id);
    progress(refresh);
    if (refresh.Status && FINAL.has(refresh.Status)) return { refresh, timedOut: false };
    const now = clock.now().getTime();
    if (now >= deadline || options.signal?.aborted) break;
    await pause(Math.min(poll, deadline - now), options.signal).catch(() => undefined);
  }

  options.log?.warning(`${groupName}: cancelling instance refresh ${id} after ${formatDuration(options.timeoutMs)}`);
  try {
    await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: groupName }));
  } catch (error) {
    // It ended between the last poll and the cancel: report how.
    if (!(error instanceof ActiveInstanceRefreshNotFoundFault)) throw error;
  }
  const settle = clock.now().getTime() + (options.cancelWaitMs ?? 10 * 60_000);
  for (;;) {
    const refresh = await describeInstanceRefresh(client, groupName, id);
    progress(refresh);
    if ((refresh.Status && FINAL.has(refresh.Status)) || clock.now().getTime() >= settle) return { refresh, timedOut: true };
    await pause(Math.min(poll, 15_000));
  }
}

/** The rollout outcome of a finished refresh, with the reason AWS gave. */
export function refreshOutcome(end: RefreshEnd, waitedMs: number): { outcome: Outcome; message: string } {
  const { refresh, timedOut } = end;
  const reason = refresh.StatusReason ? `: ${refresh.StatusReason}` : '';
  const id = refresh.InstanceRefreshId ?? '?';
  const done = refresh.PercentageComplete !== undefined ? ` (${refresh.PercentageComplete}% replaced)` : '';
  if (timedOut) {
    if (refresh.Status === 'Successful') return { outcome: 'succeeded', message: `instance refresh ${id} Successful${reason}` };
    return { outcome: 'failed', message: `instance refresh ${id} did not finish within ${formatDuration(waitedMs)} and was cancelled (${refresh.Status ?? 'unknown'})${done}${reason}` };
  }
  switch (refresh.Status) {
    case 'Successful':
      return { outcome: 'succeeded', message: `instance refresh ${id} Successful${reason}` };
    case 'RollbackSuccessful': {
      const why = refresh.RollbackDetails?.RollbackReason ?? refresh.StatusReason;
      return { outcome: 'rolled-back', message: `instance refresh ${id} rolled back (RollbackSuccessful)${why ? `: ${why}` : ''}` };
    }
    case 'RollbackFailed':
      return { outcome: 'failed', message: `instance refresh ${id} failed and its rollback failed too (RollbackFailed)${reason}` };
    case 'Cancelled':
      return { outcome: 'failed', message: `instance refresh ${id} was cancelled${done}${reason}` };
    default:
      return { outcome: 'failed', message: `instance refresh ${id} ${refresh.Status ?? 'ended'}${done}${reason}` };
  }
}
