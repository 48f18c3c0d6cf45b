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
import { formatDuration } from '../../util/duration.js';
import type { Log } from '../../util/log.js';
import { poll, type CancellableWaitOptions } from '../../util/poll.js';
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

/** Defaults: poll every 30 s, let a cancelled one settle for 10 minutes. */
export interface WaitRefreshOptions extends CancellableWaitOptions {
  log?: Log;
}

/** Polls the refresh until it ends; on timeout (or abort) cancels it and waits for it to settle. */
export async function waitForInstanceRefresh(client: AutoScalingClient, groupName: string, id: string, options: WaitRefreshOptions): Promise<RefreshEnd> {
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  let last = '';
  const progress = (refresh: InstanceRefresh) => {
    const line = `${groupName}: instance refresh ${refresh.Status}${refresh.PercentageComplete !== undefined ? ` ${refresh.PercentageComplete}%` : ''}${refresh.InstancesToUpdate !== undefined ? `, ${refresh.InstancesToUpdate} to update` : ''}${refresh.StatusReason ? ` (${refresh.StatusReason})` : ''}`;
    if (line !== last) options.log?.info(line);
    last = line;
  };
  const end = await poll(
    async () => {
      const refresh = await describeInstanceRefresh(client, groupName, id);
      progress(refresh);
      return refresh;
    },
    {
      isDone: (refresh) => refresh.Status !== undefined && FINAL.has(refresh.Status),
      timeoutMs: options.timeoutMs,
      intervalMs: pollIntervalMs,
      cancel: async () => {
        options.log?.warning(`${groupName}: cancelling instance refresh ${id} after ${formatDuration(options.timeoutMs)}`);
        try {
          await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: groupName }));
        } catch (error) {
          // It ended between the last poll and the cancel: the settle wait reports how.
          if (!(error instanceof ActiveInstanceRefreshNotFoundFault)) throw error;
        }
      },
      settle: { withinMs: options.cancelWaitMs ?? 10 * 60_000, intervalMs: Math.min(pollIntervalMs, 15_000) },
      signal: options.signal,
      clock: options.clock,
      sleep: options.sleep,
    },
  );
  return { refresh: end.value, timedOut: end.ended !== 'done' };
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
