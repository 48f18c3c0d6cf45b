import type { CommandInvocation } from '@aws-sdk/client-ssm';
import type { HostResult, Outcome } from '../../rollout/types.js';
import { EXIT_CODES } from './document.js';

/** What the document printed: `fleet: key=value` lines and its last message. */
export interface DocumentReport {
  before?: string;
  target?: string;
  current?: string;
  booted?: string;
  generation?: number;
  exit?: number;
  message?: string;
}

const KEYS = new Set(['before', 'target', 'current', 'booted', 'generation', 'exit']);

/** Reads the document's own lines out of an invocation's output (stdout comes first). */
export function parseDocumentOutput(output: string | undefined): DocumentReport {
  const report: DocumentReport = {};
  for (const line of (output ?? '').split('\n')) {
    const match = /^fleet: (.*)$/.exec(line.trimEnd());
    if (!match) continue;
    const text = match[1] as string;
    const kv = /^([a-z]+)=(.*)$/.exec(text);
    const key = kv?.[1];
    const value = kv?.[2] ?? '';
    if (key && KEYS.has(key)) {
      if (value === '') continue;
      if (key === 'generation' || key === 'exit') {
        if (/^\d+$/.test(value)) report[key] = Number(value);
      } else {
        report[key as 'before' | 'target' | 'current' | 'booted'] = value;
      }
    } else {
      report.message = text;
    }
  }
  return report;
}

export type InstanceResult = Omit<HostResult, 'batch'> & { instanceId: string };

/**
 * One instance's outcome: Success is `succeeded`; a failure is read from the document's exit
 * code (4 degraded, 10 rolled back, else failed); TimedOut before delivery (or Undeliverable,
 * Terminated) is `unreachable`, after it `failed`; Cancelled (SSM stopped at max-errors, or we
 * cancelled at the timeout) is `skipped`.
 */
export function classifyInvocation(invocation: CommandInvocation, host: string): InstanceResult {
  const instanceId = invocation.InstanceId ?? 'unknown';
  const plugin = invocation.CommandPlugins?.[0];
  const report = parseDocumentOutput(plugin?.Output);
  const code = plugin?.ResponseCode;
  const details = invocation.StatusDetails ?? invocation.Status ?? 'unknown';
  const said = report.message ? `: ${report.message}` : '';
  const started = plugin?.ResponseStartDateTime?.getTime() ?? invocation.RequestedDateTime?.getTime();
  const finished = plugin?.ResponseFinishDateTime?.getTime();

  let outcome: Outcome;
  let message: string;
  switch (invocation.Status) {
    case 'Success':
      outcome = 'succeeded';
      message = report.message ?? 'Success';
      break;
    case 'Failed':
      if (details === 'Undeliverable' || details === 'Terminated') {
        outcome = 'unreachable';
        message = `${details}${said}`;
      } else if (code === EXIT_CODES.degraded) {
        outcome = 'degraded';
        message = report.message ?? 'some units failed';
      } else if (code === EXIT_CODES.rolledBack) {
        outcome = 'rolled-back';
        message = report.message ?? 'rolled back';
      } else {
        outcome = 'failed';
        message = `${details}${code !== undefined && code >= 0 ? ` (exit ${code})` : ''}${said}`;
      }
      break;
    case 'TimedOut':
      outcome = details === 'DeliveryTimedOut' ? 'unreachable' : 'failed';
      message = details === 'DeliveryTimedOut' ? 'DeliveryTimedOut: the instance did not pick the command up (SSM agent offline?)' : `${details}${said}`;
      break;
    case 'Cancelled':
    case 'Cancelling':
      outcome = 'skipped';
      message = `${details}: not run to the end (max-errors reached, or the command was cancelled)${said}`;
      break;
    default:
      outcome = 'failed';
      message = `still ${invocation.Status ?? 'unknown'} (${details})${said}`;
  }
  const after = report.current;
  return {
    host: `${host}/${instanceId}`,
    instanceId,
    outcome,
    message,
    durationMs: started !== undefined && finished !== undefined && finished >= started ? finished - started : 0,
    ...(report.target ? { target: report.target } : {}),
    ...(report.before ? { before: report.before } : {}),
    ...(after ? { after } : {}),
    ...(report.booted ? { booted: report.booted } : {}),
    ...(report.generation !== undefined ? { generation: report.generation } : {}),
  };
}

const SEVERITY: readonly Outcome[] = ['failed', 'rolled-back', 'unreachable', 'degraded', 'skipped', 'succeeded'];

/** The inventory host's result from its instances': the worst outcome, and counts. */
export function summarizeInstances(host: string, instances: readonly InstanceResult[], system: string, durationMs: number): Omit<HostResult, 'batch'> {
  if (instances.length === 0) {
    return { host, outcome: 'failed', target: system, durationMs, message: 'no instance got the command (do the instance ids or tags match running, SSM-managed instances?)' };
  }
  const outcome = SEVERITY.find((o) => instances.some((i) => i.outcome === o)) as Outcome;
  const counts = SEVERITY.filter((o) => instances.some((i) => i.outcome === o)).map((o) => `${instances.filter((i) => i.outcome === o).length} ${o}`);
  const worst = instances.filter((i) => i.outcome !== 'succeeded').slice(0, 3).map((i) => `${i.instanceId}: ${i.message}`);
  const single = instances.length === 1 ? instances[0] : undefined;
  return {
    host,
    outcome,
    target: system,
    durationMs,
    message: `${instances.length} instance${instances.length === 1 ? '' : 's'}: ${counts.join(', ')}${worst.length > 0 ? `; ${worst.join('; ')}` : ''}`,
    ...(single?.before ? { before: single.before } : {}),
    ...(single?.after ? { after: single.after } : {}),
    ...(single?.booted ? { booted: single.booted } : {}),
    ...(single?.generation !== undefined ? { generation: single.generation } : {}),
  };
}
