import { z } from 'zod';
import type { DatedObject } from '../cache/store.js';
import { mapConcurrent } from '../util/async.js';
import { errorMessage } from '../util/errors.js';

/**
 * Host status reports: what a host says it runs. The pull agent (host/nixos/fleet-agent.nix) writes one
 * JSON object per host after every run to `fleet/status/<host>.json` in the cache store; the
 * wave gate and action-deploy's `wait` read them.
 *
 * Format 1 (field, type, meaning):
 *
 *   format            1                 this layout; readers refuse other values
 *   host              string            the inventory host name (equals <host> in the key)
 *   system            store path        what /run/current-system points to
 *   booted            store path        what /run/booted-system points to
 *   profileGeneration integer | null    N of /nix/var/nix/profiles/system-N-link
 *   failedUnits       string[]          `systemctl list-units --failed` unit names, [] when healthy
 *   needsReboot       boolean           booted kernel/initrd/modules differ from the current system's
 *   lastError         string | null     why the last run failed (fetch, verify, switch, health); null when it succeeded
 *   reportedAt        ISO 8601 time     when this report was written
 *   adoptedAt         ISO 8601 time     when `system` became the current system (the switch time)
 *   manifestSequence  integer | null    sequence number of the last manifest accepted, null before the first
 *   agentVersion      string            version of the agent that wrote the report
 *   desired           store path | null optional: the path of the last accepted manifest (may differ from `system`
 *                                       while a switch is pending or after a rollback)
 *   generations       store path[]      optional: the profile's earlier generations, newest first (what a
 *                                       rollback can go back to; the cache's garbage collection keeps them)
 *   download          object | null     optional: the closure of `system` below still being fetched, as the
 *                                       agent measured it at `measuredAt`; null or absent when nothing is
 *                                       pending. Sizes are NAR (unpacked) sizes, by the
 *                                       narinfos of the first substituter that answers:
 *     system          store path          the system being fetched (the accepted manifest's)
 *     paths, bytes    integers            store paths and bytes of its closure still missing on the host
 *     totalPaths, totalBytes integers     the whole closure's
 *     measuredAt      ISO 8601 time
 *   fetchBytesPerSecond integer | null optional: what the host's link delivered (bytes on the wire per second)
 *                                       the last time the agent fetched a closure; how long a download takes
 *   waiting           string | null     optional: why the host does not apply what it has, as planned rather than
 *                                       failed (outside its activation or reboot window); null when nothing waits
 *
 * Times are UTC with a `Z` or an explicit offset, e.g. `date -u +%Y-%m-%dT%H:%M:%SZ`.
 * Unknown extra fields are kept out of the parsed value and do not make a report invalid, so a
 * newer agent can add fields without breaking older readers.
 *
 * Example:
 *   {"format":1,"host":"clinic-kin","system":"/nix/store/8k…-nixos-system-clinic-kin-24.11",
 *    "booted":"/nix/store/8k…-nixos-system-clinic-kin-24.11","profileGeneration":42,"failedUnits":[],
 *    "needsReboot":false,"lastError":null,"reportedAt":"2025-03-01T10:00:00Z",
 *    "adoptedAt":"2025-02-28T09:12:44Z","manifestSequence":17,"agentVersion":"1.0.0","desired":null}
 */
export const STATUS_REPORT_FORMAT = 1;
export const STATUS_PREFIX = 'fleet/status/';

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/, 'must be a store path such as /nix/store/<32-char hash>-<name>');
const time = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2025-03-01T10:00:00Z' });

const count = z.number().int().nonnegative();

const downloadSchema = z
  .object({ system: storePath, paths: count, bytes: count, totalPaths: count, totalBytes: count, measuredAt: time })
  .refine((d) => d.paths <= d.totalPaths && d.bytes <= d.totalBytes, 'paths and bytes must not exceed totalPaths and totalBytes');

export const statusReportSchema = z.object({
  format: z.literal(STATUS_REPORT_FORMAT, { message: `must be ${STATUS_REPORT_FORMAT} (this reader knows format ${STATUS_REPORT_FORMAT} only)` }),
  host: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be an inventory host name'),
  system: storePath,
  booted: storePath,
  profileGeneration: z.number().int().nonnegative().nullable(),
  failedUnits: z.array(z.string().min(1)),
  needsReboot: z.boolean(),
  lastError: z.string().nullable(),
  reportedAt: time,
  adoptedAt: time,
  manifestSequence: z.number().int().nonnegative().nullable(),
  agentVersion: z.string().min(1),
  desired: storePath.nullable().optional(),
  generations: z.array(storePath).optional(),
  download: downloadSchema.nullable().optional(),
  waiting: z.string().nullable().optional(),
  fetchBytesPerSecond: count.nullable().optional(),
});

/** A report as the agent writes it (times as strings). */
export type StatusReportDocument = z.input<typeof statusReportSchema>;

/** A validated report with times as Dates. */
export interface HostStatusReport {
  host: string;
  system: string;
  booted: string;
  profileGeneration: number | null;
  failedUnits: string[];
  needsReboot: boolean;
  lastError: string | null;
  reportedAt: Date;
  adoptedAt: Date;
  manifestSequence: number | null;
  agentVersion: string;
  desired: string | null;
  /** Earlier generations, newest first, when the agent lists them. */
  generations?: string[];
  /** The closure still being fetched, when the agent reports one. */
  download?: DownloadProgress;
  /** Why the host waits as planned (its activation or reboot window), when it does. */
  waiting?: string;
  /** Bytes per second the host's link delivered at its last fetch, when it measured one. */
  fetchBytesPerSecond?: number;
}

/** What of a system's closure a host still has to fetch (sizes as the cache serves them). */
export interface DownloadProgress {
  system: string;
  paths: number;
  bytes: number;
  totalPaths: number;
  totalBytes: number;
  measuredAt: Date;
}

export class StatusReportError extends Error {
  override name = 'StatusReportError';
}

/** The store key of a host's report. */
export function statusReportKey(host: string): string {
  return `${STATUS_PREFIX}${host}.json`;
}

/** Validates one report; `whence` names it in messages (its key or file). */
export function parseStatusReport(input: string | Buffer | unknown, whence = 'status report'): HostStatusReport {
  let document: unknown = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      document = JSON.parse(input.toString());
    } catch (error) {
      throw new StatusReportError(`${whence} is not valid JSON: ${errorMessage(error)}`);
    }
  }
  const parsed = statusReportSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new StatusReportError(`${whence} is not a valid status report: ${problems.join('; ')}`);
  }
  const report = parsed.data;
  const reportedAt = new Date(report.reportedAt);
  const adoptedAt = new Date(report.adoptedAt);
  if (adoptedAt.getTime() > reportedAt.getTime()) {
    throw new StatusReportError(`${whence} is not a valid status report: adoptedAt (${report.adoptedAt}) is after reportedAt (${report.reportedAt})`);
  }
  return {
    host: report.host,
    system: report.system,
    booted: report.booted,
    profileGeneration: report.profileGeneration,
    failedUnits: report.failedUnits,
    needsReboot: report.needsReboot,
    lastError: report.lastError,
    reportedAt,
    adoptedAt,
    manifestSequence: report.manifestSequence,
    agentVersion: report.agentVersion,
    desired: report.desired ?? null,
    ...(report.generations ? { generations: report.generations } : {}),
    ...(report.download ? { download: { ...report.download, measuredAt: new Date(report.download.measuredAt) } } : {}),
    ...(report.waiting ? { waiting: report.waiting } : {}),
    ...(report.fetchBytesPerSecond ? { fetchBytesPerSecond: report.fetchBytesPerSecond } : {}),
  };
}

/** The JSON document of a report, as the agent writes it. */
export function renderStatusReport(report: HostStatusReport): string {
  const document: StatusReportDocument = {
    format: STATUS_REPORT_FORMAT,
    host: report.host,
    system: report.system,
    booted: report.booted,
    profileGeneration: report.profileGeneration,
    failedUnits: report.failedUnits,
    needsReboot: report.needsReboot,
    lastError: report.lastError,
    reportedAt: formatTime(report.reportedAt),
    adoptedAt: formatTime(report.adoptedAt),
    manifestSequence: report.manifestSequence,
    agentVersion: report.agentVersion,
    desired: report.desired,
    ...(report.generations ? { generations: report.generations } : {}),
    ...(report.download ? { download: { ...report.download, measuredAt: formatTime(report.download.measuredAt) } } : {}),
    ...(report.waiting ? { waiting: report.waiting } : {}),
    ...(report.fetchBytesPerSecond ? { fetchBytesPerSecond: report.fetchBytesPerSecond } : {}),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Whether the host reports a problem: failed units or a failed last run. */
export function reportsFailure(report: HostStatusReport): boolean {
  return report.failedUnits.length > 0 || report.lastError !== null;
}

/** The part of a cache store the reports are read from (a `BinaryCacheStore` fits). */
export interface StatusStore {
  readonly url: string;
  get(key: string): Promise<Buffer | undefined>;
  getWithDate(key: string): Promise<DatedObject | undefined>;
  list(prefix: string): Promise<string[]>;
}

export interface StatusReadResult {
  /** Valid reports by host name. */
  reports: Map<string, HostStatusReport>;
  /** Host → when the store received its report (the object's date), where the store keeps one. */
  receivedAt: Map<string, Date>;
  /** Reports that could not be used, by key, with the reason and the host the key belongs to; never fatal. */
  problems: { key: string; message: string; host?: string }[];
}

/**
 * Reads every report under `fleet/status/`. A broken or mismatched report is listed in `problems`
 * rather than failing the read: one bad host must not hide the others.
 */
export async function readStatusReports(store: StatusStore, options: { prefix?: string; concurrency?: number } = {}): Promise<StatusReadResult> {
  const prefix = options.prefix ?? STATUS_PREFIX;
  const keys = (await store.list(prefix)).filter((key) => key.endsWith('.json') && !key.slice(prefix.length).includes('/')).sort();
  const reports = new Map<string, HostStatusReport>();
  const receivedAt = new Map<string, Date>();
  const problems: StatusReadResult['problems'] = [];
  const read = await mapConcurrent(keys, options.concurrency ?? 16, async (key) => {
    try {
      const object = await store.getWithDate(key);
      if (object === undefined) return { key, problem: 'disappeared while reading' };
      const report = parseStatusReport(object.body, 'the report');
      const named = key.slice(prefix.length, -'.json'.length);
      if (report.host !== named) return { key, problem: `names host "${report.host}" but is stored as "${named}"` };
      return { key, report, modifiedAt: object.modifiedAt };
    } catch (error) {
      return { key, problem: errorMessage(error) };
    }
  });
  for (const item of read) {
    if ('report' in item && item.report) {
      reports.set(item.report.host, item.report);
      if (item.modifiedAt) receivedAt.set(item.report.host, item.modifiedAt);
    } else {
      problems.push({ key: item.key, message: item.problem ?? 'unreadable', host: item.key.slice(prefix.length, -'.json'.length) });
    }
  }
  return { reports, receivedAt, problems };
}

function formatTime(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}
