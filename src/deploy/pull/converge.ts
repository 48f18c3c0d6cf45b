import { parseStatusReport, reportsFailure, statusReportKey, type HostStatusReport, type StatusStore } from '../../fleet/status.js';
import type { HostResult, Outcome } from '../../rollout/types.js';
import { mapConcurrent, sleep as realSleep, systemClock, type Clock } from '../../util/async.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import type { ManifestAction } from './manifest.js';

/** What the deployer waits for on one host: its report naming this manifest. */
export interface ConvergenceTarget {
  host: string;
  system: string;
  sequence: number;
  action: ManifestAction;
  issuedAt: Date;
  /** The host's system before the deploy (from its last report), for the result. */
  before?: string;
}

export type HostConvergence =
  | { state: 'pending'; reason: string }
  | { state: 'final'; outcome: Outcome; message: string };

/** The agent starts lastError with this when it restored the previous system. */
export const ROLLED_BACK_PREFIX = 'rolled back';

/**
 * Where one host stands, from its report (pure). Final once the host reports this manifest's
 * sequence (or a newer one); pending while it reports an older one or none.
 */
export function classifyReport(target: ConvergenceTarget, report: HostStatusReport | undefined): HostConvergence {
  if (!report) return { state: 'pending', reason: 'no status report yet' };
  const seq = report.manifestSequence;
  if (seq === null || seq < target.sequence) {
    const heard = report.reportedAt.getTime() >= target.issuedAt.getTime();
    const base = `reports manifest ${seq ?? 'none'} and runs ${report.system}`;
    if (heard && report.lastError) return { state: 'pending', reason: `${base}; its last run failed: ${report.lastError}` };
    return { state: 'pending', reason: heard ? base : `no report since the manifest was issued (last ${report.reportedAt.toISOString()})` };
  }
  if (seq > target.sequence) return { state: 'final', outcome: 'skipped', message: `superseded: the host applied a newer manifest (${seq})` };

  if (report.system === target.system) {
    if (reportsFailure(report)) {
      const units = report.failedUnits.length > 0 ? `failed units: ${report.failedUnits.join(', ')}` : '';
      return { state: 'final', outcome: 'degraded', message: [report.lastError, units].filter(Boolean).join('; ') };
    }
    return { state: 'final', outcome: 'succeeded', message: report.needsReboot ? 'runs the new system; a reboot is pending' : 'runs the new system' };
  }
  if (report.lastError) {
    const rolledBack = report.lastError.startsWith(ROLLED_BACK_PREFIX);
    return { state: 'final', outcome: rolledBack ? 'rolled-back' : 'failed', message: report.lastError };
  }
  if (target.action !== 'switch' && report.desired === target.system) {
    // Accepted, and the new system is the boot default: `boot` is done, `reboot` waits for the window.
    if (target.action === 'boot') return { state: 'final', outcome: 'succeeded', message: 'the new system is the boot default; it runs after the next reboot' };
    return { state: 'pending', reason: 'the new system is the boot default; waiting for the host to reboot into it' };
  }
  return { state: 'final', outcome: 'failed', message: `applied manifest ${seq} but runs ${report.system}` };
}

export interface WaitOptions {
  /** How long to wait in all (e.g. the `wait: 30m` input). */
  timeoutMs: number;
  /** Between reads of the reports (default 15 s). */
  pollIntervalMs?: number;
  clock?: Clock;
  /** Injected in tests to move a fake clock instead of waiting. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  log?: Log;
  /** Reads at once (default 16). */
  concurrency?: number;
  /** Called as each host reaches its outcome. */
  onResult?: (result: Omit<HostResult, 'batch'>) => void;
}

export interface ConvergenceReport {
  /** One per target, in the order given. */
  results: Omit<HostResult, 'batch'>[];
  /** Hosts that had not reached the manifest when the wait ended. */
  stragglers: string[];
  /** Every host succeeded. */
  ok: boolean;
}

/**
 * Reads `fleet/status/<host>.json` of every target until each has an outcome or `timeoutMs`
 * has passed. Stragglers end `unreachable` (not heard from since the manifest was issued) or
 * `failed` (heard from, but not on the new system), with what their last report said.
 */
export async function waitForConvergence(store: StatusStore, targets: readonly ConvergenceTarget[], options: WaitOptions): Promise<ConvergenceReport> {
  const clock = options.clock ?? systemClock;
  const pause = options.sleep ?? realSleep;
  const pollMs = options.pollIntervalMs ?? 15_000;
  const started = clock.now().getTime();
  const deadline = started + options.timeoutMs;
  const final = new Map<string, Omit<HostResult, 'batch'>>();
  const lastSeen = new Map<string, { report?: HostStatusReport; reason: string }>();

  const finish = (target: ConvergenceTarget, outcome: Outcome, message: string, report: HostStatusReport | undefined) => {
    const result: Omit<HostResult, 'batch'> = {
      host: target.host,
      outcome,
      target: target.system,
      durationMs: clock.now().getTime() - started,
      message,
      ...(target.before ? { before: target.before } : {}),
      ...(report ? { after: report.system, booted: report.booted, needsReboot: report.needsReboot } : {}),
      ...(report?.profileGeneration != null ? { generation: report.profileGeneration } : {}),
    };
    final.set(target.host, result);
    options.onResult?.(result);
  };

  for (;;) {
    const open = targets.filter((t) => !final.has(t.host));
    await mapConcurrent(open, options.concurrency ?? 16, async (target) => {
      let report: HostStatusReport | undefined;
      try {
        report = await readReport(store, target.host);
      } catch (error) {
        lastSeen.set(target.host, { reason: `its status report is unreadable: ${errorMessage(error)}` });
        return;
      }
      const state = classifyReport(target, report);
      if (state.state === 'final') finish(target, state.outcome, state.message, report);
      else lastSeen.set(target.host, { report, reason: state.reason });
    });
    const waiting = targets.filter((t) => !final.has(t.host));
    if (waiting.length === 0) break;
    const now = clock.now().getTime();
    if (now >= deadline || options.signal?.aborted) break;
    options.log?.info(`waiting for ${waiting.length} host${waiting.length === 1 ? '' : 's'} to report the new system: ${waiting.map((t) => t.host).join(', ')}`);
    try {
      await pause(Math.min(pollMs, deadline - now), options.signal);
    } catch {
      break;
    }
  }

  const stragglers = targets.filter((t) => !final.has(t.host)).map((t) => t.host);
  const waited = formatDuration(clock.now().getTime() - started);
  for (const target of targets) {
    if (final.has(target.host)) continue;
    const seen = lastSeen.get(target.host);
    const report = seen?.report;
    const heard = report !== undefined && report.reportedAt.getTime() >= target.issuedAt.getTime();
    const why = options.signal?.aborted ? 'the wait was cancelled' : `not converged after ${waited}`;
    finish(target, heard ? 'failed' : 'unreachable', `${why}: ${seen?.reason ?? 'no status report yet'}`, report);
  }
  const results = targets.map((t) => final.get(t.host) as Omit<HostResult, 'batch'>);
  if (stragglers.length > 0) options.log?.warning(`hosts not on the new system after ${waited}: ${stragglers.join(', ')}`);
  return { results, stragglers, ok: results.every((r) => r.outcome === 'succeeded') };
}

/** A host's report, or undefined when it has none yet. */
export async function readReport(store: StatusStore, host: string): Promise<HostStatusReport | undefined> {
  const key = statusReportKey(host);
  const body = await store.get(key);
  if (body === undefined) return undefined;
  const report = parseStatusReport(body, `${store.url}/${key}`);
  if (report.host !== host) throw new Error(`${store.url}/${key} names host "${report.host}"`);
  return report;
}
