import type { Quorum } from '../fleet/types.js';
import { reportsFailure, type DownloadProgress, type HostStatusReport } from '../fleet/status.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { formatTime } from '../util/timestamp.js';
import type { GroupGate, HostGate, Observation } from './types.js';

export interface GateHost {
  name: string;
  wave?: string;
}

export interface GateInput {
  /** The wave's name, or `staging` for the promotion gate. */
  name: string;
  channel?: string;
  hosts: readonly GateHost[];
  /** Host → expected system path at the candidate. */
  expected: ReadonlyMap<string, string>;
  /** Host → system path before the candidate (the last promotion); equal paths pass at once. */
  baseline?: ReadonlyMap<string, string>;
  reports: ReadonlyMap<string, HostStatusReport>;
  /** Host → why its status could not be read (cut off, invalid, unreachable): it blocks. */
  unreadable?: ReadonlyMap<string, string>;
  /** Host → what the store or the runner saw (report receipt, the manifest asking for the system). */
  observations?: ReadonlyMap<string, Observation>;
  soakMs: number;
  quorum: Quorum;
  offlineAfterMs: number;
  now: Date;
}

/** Reports dated further ahead of the runner's clock than this are not trusted. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The gate of one group of hosts. It passes when at least `quorum` of the hosts seen within
 * `offlineAfterMs` run their expected system, each for at least `soakMs`, and no seen host
 * reports a failure. Soak counts from the host's adoption time, but never from before the manifest
 * that asked for the system was issued, and a host clock found behind the store's or the runner's
 * moves the adoption later by as much: a host's clock can shorten its soak, never lengthen it.
 * Hosts not seen are stragglers: listed, never blocking, never counted. A host whose status could
 * not be read or trusted is not "not seen": it blocks (fail closed). A percentage quorum rounds up
 * over the hosts seen; a count is capped at the group's size.
 */
export function evaluateGate(input: GateInput): GroupGate {
  const hosts = input.hosts.map((host) => evaluateHost(host, input));
  const seenHosts = hosts.filter((h) => h.state !== 'straggler');
  const counted = hosts.filter((h) => h.state === 'passing' || h.state === 'unchanged');
  const stragglers = hosts.filter((h) => h.state === 'straggler').map((h) => h.host);
  const failures = hosts.filter((h) => h.state === 'failed').map((h) => h.host);
  const unreadable = hosts.filter((h) => h.state === 'unreadable');
  const required = requiredPassing(input.quorum, seenHosts.length, hosts.length);
  const reasons: string[] = [];

  if (hosts.length === 0) reasons.push(`${input.name} has no hosts`);
  else if (seenHosts.length === 0) reasons.push(`no host of ${input.name} reported within ${formatDuration(input.offlineAfterMs)}`);
  for (const host of hosts.filter((h) => h.state === 'failed')) reasons.push(`${host.host} reports a failure: ${host.detail}`);
  for (const host of unreadable) reasons.push(`${host.host}: ${host.detail}; it blocks until its status can be read`);
  if (seenHosts.length > 0 && counted.length < required) {
    reasons.push(`${counted.length} of ${seenHosts.length} hosts seen pass, ${required} needed (quorum ${describeQuorum(input.quorum)})`);
  }

  const blocked = failures.length > 0 || unreadable.length > 0;
  const passed = hosts.length > 0 && seenHosts.length > 0 && !blocked && counted.length >= required;
  const state = hosts.length === 0 ? 'empty' : blocked ? 'failed' : passed ? 'passed' : 'waiting';
  const readyAt = passed || blocked ? undefined : readyTime(hosts, counted.length, required);
  return {
    name: input.name,
    ...(input.channel !== undefined ? { channel: input.channel } : {}),
    soakMs: input.soakMs,
    quorum: input.quorum,
    hosts,
    total: hosts.length,
    seen: seenHosts.length,
    passing: counted.length,
    required,
    stragglers,
    failures,
    unreadable: unreadable.map((h) => h.host),
    passed,
    state,
    ...(readyAt ? { readyAt } : {}),
    reasons: passed ? [] : reasons,
  };
}

/** Passing hosts needed: a share of the hosts seen (rounded up, at least one), or a count capped at the group's size. */
export function requiredPassing(quorum: Quorum, seen: number, total: number): number {
  if ('count' in quorum) return Math.max(1, Math.min(quorum.count, total));
  if (seen === 0) return 1;
  // Subtracting a hair keeps 80% of 5 at exactly 4 despite floating point.
  return Math.max(1, Math.ceil((quorum.percent * seen) / 100 - 1e-9));
}

/** What blocks a gate, after its subject: `reports failures: a, b; status unreadable: c (why)`. */
export function blockedReason(gate: GroupGate, reports: 'reports' | 'report'): string {
  const unreadable = gate.hosts.filter((h) => h.state === 'unreadable').map((h) => `${h.host} (${h.detail})`);
  return [
    ...(gate.failures.length > 0 ? [`${reports} failures: ${gate.failures.join(', ')}`] : []),
    ...(unreadable.length > 0 ? [`${gate.failures.length > 0 ? 'and ' : ''}cannot be judged: ${unreadable.join(', ')}`] : []),
  ].join('; ');
}

/**
 * "412 MiB of 1.2 GiB (310 of 1204 paths) left at 2025-03-01T10:00:00Z", and, at the host's last
 * measured rate, how long that takes at most (NAR bytes; the wire carries them compressed).
 */
export function describeDownload(download: DownloadProgress, bytesPerSecond?: number): string {
  const left = `${formatBytes(download.bytes)} of ${formatBytes(download.totalBytes)} (${download.paths} of ${download.totalPaths} paths) left at ${formatTime(download.measuredAt)}`;
  return bytesPerSecond ? `${left}; at most ${describeRate(download.bytes, bytesPerSecond)}` : left;
}

/** "9h42m at 12.0 KiB/s": the time BYTES take at a host's measured rate. */
export function describeRate(bytes: number, bytesPerSecond: number): string {
  return `${formatDuration(Math.ceil(bytes / bytesPerSecond) * 1000)} at ${formatBytes(bytesPerSecond)}/s`;
}

export function describeQuorum(quorum: Quorum): string {
  return 'count' in quorum ? String(quorum.count) : `${quorum.percent}%`;
}

function evaluateHost(host: GateHost, input: GateInput): HostGate {
  const report = input.reports.get(host.name);
  const expected = input.expected.get(host.name);
  const base: HostGate = {
    host: host.name,
    ...(host.wave ? { wave: host.wave } : {}),
    ...(expected ? { expected } : {}),
    state: 'unknown',
    health: 'unknown',
    failedUnits: [],
    lastError: null,
    needsReboot: false,
    detail: '',
  };
  const problem = input.unreadable?.get(host.name);
  if (problem !== undefined) return { ...base, state: 'unreadable', detail: `status unreadable: ${problem}` };
  if (!report) return { ...base, state: 'straggler', detail: 'has never reported' };

  const now = input.now.getTime();
  const observed = input.observations?.get(host.name);
  // A store date after the runner's clock means one of those two clocks is wrong, so it proves nothing.
  const receivedAt = observed?.receivedAt && observed.receivedAt.getTime() - now <= CLOCK_SKEW_MS ? observed.receivedAt : undefined;
  const ahead = report.reportedAt.getTime() - now;
  if (ahead > CLOCK_SKEW_MS) {
    return { ...base, state: 'unreadable', reportedAt: report.reportedAt, detail: `status not trusted: it is dated ${formatDuration(ahead)} in the future (${report.reportedAt.toISOString()})` };
  }
  const aheadOfReceipt = receivedAt ? report.reportedAt.getTime() - receivedAt.getTime() : 0;
  if (receivedAt && aheadOfReceipt > CLOCK_SKEW_MS) {
    return {
      ...base,
      state: 'unreadable',
      reportedAt: report.reportedAt,
      detail: `status not trusted: it is dated ${report.reportedAt.toISOString()}, ${formatDuration(aheadOfReceipt)} after it was received (${receivedAt.toISOString()}); check the host's clock`,
    };
  }
  const gate: HostGate = {
    ...base,
    running: report.system,
    booted: report.booted,
    adoptedAt: report.adoptedAt,
    reportedAt: report.reportedAt,
    failedUnits: report.failedUnits,
    lastError: report.lastError,
    needsReboot: report.needsReboot,
    ...(report.fetchBytesPerSecond ? { fetchBytesPerSecond: report.fetchBytesPerSecond } : {}),
    health: reportsFailure(report) ? 'failed' : 'ok',
  };
  // Last seen when the store or the runner received it: a host clock behind would make it look offline.
  const silentFor = now - (receivedAt ?? report.reportedAt).getTime();
  if (silentFor > input.offlineAfterMs) {
    return { ...gate, state: 'straggler', detail: `last seen ${formatDuration(silentFor)} ago` };
  }
  if (reportsFailure(report)) {
    const what = [
      ...(report.failedUnits.length > 0 ? [`failed units: ${report.failedUnits.join(', ')}`] : []),
      ...(report.lastError !== null ? [`last error: ${report.lastError}`] : []),
    ];
    return { ...gate, state: 'failed', detail: what.join('; ') };
  }
  if (!expected) return { ...gate, state: 'unknown', detail: 'no expected system is known for this host' };
  if (report.system !== expected) {
    const download = report.download?.system === expected ? report.download : undefined;
    if (download) return { ...gate, state: 'behind', download, detail: `fetching the new system: ${describeDownload(download, report.fetchBytesPerSecond)}` };
    if (report.waiting) return { ...gate, state: 'behind', detail: `waiting: ${report.waiting}` };
    return { ...gate, state: 'behind', detail: report.desired === expected ? 'fetched the new system, not switched yet' : 'runs another system' };
  }
  if (input.baseline?.get(host.name) === expected) return { ...gate, state: 'unchanged', detail: 'its system did not change' };
  const soak = soakStart(report.adoptedAt, -aheadOfReceipt, expected, observed);
  const counted = soak.note ? { soakStartedAt: soak.at, soakNote: soak.note } : {};
  const soakedMs = Math.max(0, now - soak.at.getTime());
  if (soakedMs >= input.soakMs) return { ...gate, ...counted, state: 'passing', soakedMs, detail: `soaked ${formatDuration(soakedMs)}` };
  const soakEndsAt = new Date(soak.at.getTime() + input.soakMs);
  return { ...gate, ...counted, state: 'soaking', soakedMs, soakEndsAt, detail: `soaking, ${formatDuration(input.soakMs - soakedMs)} to go` };
}

/**
 * When the soak of `expected` began: the host's adoption time, moved later by how far the host's
 * clock was behind when its report was received, and no earlier than the issue of the manifest
 * that asked for the system. `note` says why, when it is not the reported time.
 */
function soakStart(adoptedAt: Date, hostBehindMs: number, expected: string, observed: Observation | undefined): { at: Date; note?: string } {
  let at = adoptedAt;
  let note: string | undefined;
  if (hostBehindMs > CLOCK_SKEW_MS) {
    at = new Date(adoptedAt.getTime() + hostBehindMs);
    note = `the host's clock was ${formatDuration(hostBehindMs)} behind when its report was received`;
  }
  const manifest = observed?.manifest;
  if (manifest && manifest.system === expected && manifest.issuedAt.getTime() > at.getTime()) {
    at = manifest.issuedAt;
    note = `the manifest asking for it was issued ${manifest.issuedAt.toISOString()}, after the reported adoption ${adoptedAt.toISOString()}`;
  }
  return note ? { at, note } : { at };
}

/** When enough soaking hosts finish their soak to reach the quorum, if they can. */
function readyTime(hosts: HostGate[], passing: number, required: number): Date | undefined {
  const ends = hosts
    .filter((h) => h.state === 'soaking' && h.soakEndsAt)
    .map((h) => (h.soakEndsAt as Date).getTime())
    .sort((a, b) => a - b);
  const missing = required - passing;
  if (missing <= 0 || ends.length < missing) return undefined;
  return new Date(ends[missing - 1] as number);
}
