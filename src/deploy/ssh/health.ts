import { formatDuration } from '../../util/duration.js';
import type { HealthCheck } from '../types.js';
import type { RemoteHost } from './remote-host.js';

export interface HealthReport {
  /** The first failed check, which makes the deploy fail (and roll back). */
  failure?: string;
  /** systemd reports `degraded`: the host keeps the system but is marked degraded. */
  degraded?: string;
}

const SYSTEMD_CHECK_TIMEOUT_MS = 120_000;

/**
 * Runs the checks on the host, one by one, each under `timeout` there (and a local backstop).
 * Connection errors propagate: the caller decides what a host that vanished means.
 */
export async function runHealthChecks(
  host: RemoteHost,
  checks: readonly HealthCheck[],
  options: { systemd: boolean; signal?: AbortSignal },
): Promise<HealthReport> {
  const report: HealthReport = {};
  if (options.systemd) {
    const result = await runLimited(host, ['systemctl', 'is-system-running', '--wait'], SYSTEMD_CHECK_TIMEOUT_MS, options.signal);
    const state = result.stdout.trim().split('\n').at(-1)?.trim() ?? '';
    if (state === 'degraded') report.degraded = 'systemd reports the system degraded (some units failed)';
    else if (state !== 'running') return { failure: `systemctl is-system-running: ${state || result.stderr.trim() || `exit ${result.code}`}` };
  }
  for (const check of checks) {
    const result = await runLimited(host, ['sh', '-c', check.command], check.timeoutMs, options.signal);
    if (result.code === 124 || result.code === 137) {
      return { ...report, failure: `health check "${check.command}" timed out after ${formatDuration(check.timeoutMs)}` };
    }
    if (result.code !== 0) {
      const output = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-2).join(' / ');
      return { ...report, failure: `health check "${check.command}" exited with ${result.code}${output ? `: ${output}` : ''}` };
    }
  }
  return report;
}

function runLimited(host: RemoteHost, argv: string[], timeoutMs: number, signal?: AbortSignal) {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return host.run(['timeout', '-k', '5', String(seconds), ...argv], { timeoutMs: timeoutMs + 30_000, signal });
}
