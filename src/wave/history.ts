import { z } from 'zod';
import type { BinaryCacheStore } from '../cache/store.js';
import { mapConcurrent } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import { keyTimestamp, parseKeyTimestamp } from '../util/timestamp.js';
import type { WaveReport } from './report.js';
import type { GroupState, HostGate, HostState } from './types.js';

/**
 * The status history: each `status` run with `history: true` appends one record to the store the
 * hosts report to, one object per run (appends never conflict, nothing is read and rewritten):
 *
 *   fleet/status-history/<YYYYMMDDTHHMMSSZ>.json
 *
 * Format 1, compact (one line of JSON; short keys):
 *
 *   { "format": 1,
 *     "at": "2025-03-10T12:00:00.000Z",                  the run's time
 *     "w": { "<wave>": "<passed|waiting|failed|empty>" }, each wave's gate state
 *     "h": { "<host>": { "w": "<wave>" | "",              each host: its wave ("" for none),
 *                        "s": "<host state>",             its state (passing, soaking, behind, …),
 *                        "r": "/nix/store/…" | null,      the system it reported running (null: unknown),
 *                        "e": "/nix/store/…" | null } } } and the system expected of it (null: unknown)
 *
 * Readers take the newest records (at most `HISTORY_MAX_RECORDS`, none older than
 * `HISTORY_MAX_AGE_MS`) and skip, with a warning, any record they cannot read. Each run that
 * appends a record deletes the records older than `HISTORY_MAX_AGE_MS` (`pruneHistory`).
 */
export const HISTORY_PREFIX = 'fleet/status-history/';
export const HISTORY_MAX_RECORDS = 500;
export const HISTORY_MAX_AGE_MS = 180 * 86_400_000;

const HOST_STATES = ['passing', 'unchanged', 'soaking', 'behind', 'failed', 'straggler', 'unreadable', 'unknown'] as const satisfies readonly HostState[];
const GROUP_STATES = ['passed', 'waiting', 'failed', 'empty'] as const satisfies readonly GroupState[];

const historyRecordSchema = z.object({
  format: z.literal(1),
  at: z.iso.datetime({ offset: true }),
  w: z.record(z.string(), z.enum(GROUP_STATES)),
  h: z.record(
    z.string(),
    z.object({
      w: z.string(),
      s: z.enum(HOST_STATES),
      r: z.string().nullable(),
      e: z.string().nullable(),
    }),
  ),
});
export type HistoryRecord = z.infer<typeof historyRecordSchema>;

/** A record as read: its key and time parsed. */
export interface DatedRecord {
  key: string;
  at: Date;
  record: HistoryRecord;
}

export interface HistoryProblem {
  key: string;
  message: string;
}

export interface HistoryRead {
  /** Oldest first. */
  records: DatedRecord[];
  /** Records that could not be read or parsed: skipped. */
  problems: HistoryProblem[];
}

export function historyKey(at: Date): string {
  return `${HISTORY_PREFIX}${keyTimestamp(at)}.json`;
}

/** The time a record key names, or undefined for a key that is not one. */
export function historyKeyTime(key: string): Date | undefined {
  if (!key.startsWith(HISTORY_PREFIX) || !key.endsWith('.json')) return undefined;
  return parseKeyTimestamp(key.slice(HISTORY_PREFIX.length, -'.json'.length));
}

/** The record of a `status` run: each wave's state, and each host's wave, state, running and expected system. */
export function historyRecord(report: Pick<WaveReport, 'generatedAt' | 'waves' | 'outsideWaves'>): HistoryRecord {
  const record: HistoryRecord = { format: 1, at: report.generatedAt.toISOString(), w: {}, h: {} };
  const entry = (host: HostGate, wave: string) => ({ w: wave, s: host.state, r: host.running ?? null, e: host.expected ?? null });
  for (const gate of report.waves) {
    record.w[gate.name] = gate.state;
    for (const host of gate.hosts) record.h[host.host] = entry(host, gate.name);
  }
  for (const host of report.outsideWaves ?? []) record.h[host.host] = entry(host, '');
  return record;
}

export function renderHistoryRecord(record: HistoryRecord): string {
  return `${JSON.stringify(record)}\n`;
}

export function parseHistoryRecord(text: Buffer | string, whence: string): HistoryRecord {
  try {
    return historyRecordSchema.parse(JSON.parse(text.toString()));
  } catch (error) {
    throw new Error(`${whence} is not a status history record: ${errorMessage(error)}`, { cause: error });
  }
}

/** Appends the run's record; returns its key. */
export async function appendHistory(store: Pick<BinaryCacheStore, 'put'>, record: HistoryRecord): Promise<string> {
  const key = historyKey(new Date(record.at));
  await store.put(key, renderHistoryRecord(record), 'application/json');
  return key;
}

/**
 * Deletes the records older than `maxAgeMs` before `now`, which no reader reads any more; returns
 * their keys. Only keys that name a record are touched.
 */
export async function pruneHistory(store: Pick<BinaryCacheStore, 'list' | 'deleteMany'>, options: { now: Date; maxAgeMs?: number }): Promise<string[]> {
  const oldest = options.now.getTime() - (options.maxAgeMs ?? HISTORY_MAX_AGE_MS);
  const expired = (await store.list(HISTORY_PREFIX)).filter((key) => {
    const at = historyKeyTime(key);
    return at !== undefined && at.getTime() < oldest;
  });
  if (expired.length > 0) await store.deleteMany(expired.sort());
  return expired;
}

export interface ReadHistoryOptions {
  now: Date;
  maxRecords?: number;
  maxAgeMs?: number;
  /** Reads in flight (default 16). */
  concurrency?: number;
}

/**
 * The newest records, oldest first: at most `maxRecords`, none older than `maxAgeMs` before
 * `now` (by the time in the key). A record that cannot be read or parsed is skipped and named in
 * `problems`; a failed listing throws.
 */
export async function readHistory(store: Pick<BinaryCacheStore, 'list' | 'get'>, options: ReadHistoryOptions): Promise<HistoryRead> {
  const maxRecords = options.maxRecords ?? HISTORY_MAX_RECORDS;
  const oldest = options.now.getTime() - (options.maxAgeMs ?? HISTORY_MAX_AGE_MS);
  const keys = (await store.list(HISTORY_PREFIX))
    .map((key) => ({ key, at: historyKeyTime(key) }))
    .filter((k): k is { key: string; at: Date } => k.at !== undefined && k.at.getTime() >= oldest)
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .slice(-maxRecords);
  const problems: HistoryProblem[] = [];
  const read = await mapConcurrent(keys, options.concurrency ?? 16, async ({ key }): Promise<DatedRecord | undefined> => {
    try {
      const body = await store.get(key);
      if (body === undefined) throw new Error('it is gone (deleted after it was listed?)');
      const record = parseHistoryRecord(body, 'it');
      return { key, at: new Date(record.at), record };
    } catch (error) {
      problems.push({ key, message: errorMessage(error) });
      return undefined;
    }
  });
  const records = read.filter((r): r is DatedRecord => r !== undefined).sort((a, b) => a.at.getTime() - b.at.getTime());
  problems.sort((a, b) => a.key.localeCompare(b.key));
  return { records, problems };
}

/** The records read, with the current run's record as the newest (replacing one at the same key). */
export function withCurrent(records: readonly DatedRecord[], current: HistoryRecord): DatedRecord[] {
  const at = new Date(current.at);
  const key = historyKey(at);
  return [...records.filter((r) => r.key !== key && r.at.getTime() < at.getTime()), { key, at, record: current }];
}

/** Since when a host runs its current system, by the history. */
export interface RunningSince {
  since: Date;
  /** Every record back to the oldest agrees (or knows nothing else): it may run it since earlier. */
  before: boolean;
}

/**
 * Per host of the newest record with a known running system: the earliest time in the newest run
 * of records in which it ran that same system. Records where its system is unknown (a straggler,
 * an unreadable status) neither end nor extend the run. `records` oldest first.
 */
export function runningSince(records: readonly DatedRecord[]): Map<string, RunningSince> {
  const result = new Map<string, RunningSince>();
  const newest = records.at(-1);
  if (!newest) return result;
  for (const [host, entry] of Object.entries(newest.record.h)) {
    if (entry.r === null) continue;
    let since = newest.at;
    let before = true;
    for (let i = records.length - 2; i >= 0; i--) {
      const at = records[i] as DatedRecord;
      const then = at.record.h[host];
      if (!then) break;
      if (then.r === null) continue;
      if (then.r !== entry.r) {
        before = false;
        break;
      }
      since = at.at;
    }
    result.set(host, { since, before });
  }
  return result;
}

/** How long a wave took to pass its current expected systems, by the history. */
export interface WaveDuration {
  /** The first record in which its hosts' expected systems were what they are now. */
  since: Date;
  /** Every record back to the oldest has them: they may have been expected since earlier. */
  before: boolean;
  /** The first record since then in which the wave's gate passed. */
  passedAt?: Date;
  /** `passedAt - since`, or, when it has not passed yet, newest record's time - `since`. */
  ms: number;
}

/** The wave's hosts and their expected systems in one record, as one comparable string. */
function expectedOf(record: HistoryRecord, wave: string): string | undefined {
  const hosts = Object.entries(record.h).filter(([, h]) => h.w === wave);
  if (hosts.length === 0) return undefined;
  return JSON.stringify(hosts.map(([name, h]) => [name, h.e]).sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)));
}

/**
 * Per wave of the newest record (with hosts): from the first record of the newest run of records in
 * which the wave's hosts and their expected systems are what they are now, until the first record
 * of that run in which the wave passed. `records` oldest first.
 */
export function waveDurations(records: readonly DatedRecord[]): Map<string, WaveDuration> {
  const result = new Map<string, WaveDuration>();
  const newest = records.at(-1);
  if (!newest) return result;
  for (const wave of Object.keys(newest.record.w)) {
    const now = expectedOf(newest.record, wave);
    if (now === undefined) continue;
    let start = records.length - 1;
    while (start > 0 && expectedOf((records[start - 1] as DatedRecord).record, wave) === now) start--;
    const since = (records[start] as DatedRecord).at;
    const passed = records.slice(start).find((r) => r.record.w[wave] === 'passed');
    result.set(wave, {
      since,
      before: start === 0,
      ...(passed ? { passedAt: passed.at } : {}),
      ms: (passed ?? newest).at.getTime() - since.getTime(),
    });
  }
  return result;
}

/** What the status page shows of the history. */
export interface StatusHistory {
  records: number;
  oldest: Date;
  newest: Date;
  hosts: Map<string, RunningSince>;
  waves: Map<string, WaveDuration>;
  problems: HistoryProblem[];
}

export function statusHistory(records: readonly DatedRecord[], problems: readonly HistoryProblem[] = []): StatusHistory | undefined {
  const [oldest, newest] = [records[0], records.at(-1)];
  if (!oldest || !newest) return undefined;
  return { records: records.length, oldest: oldest.at, newest: newest.at, hosts: runningSince(records), waves: waveDurations(records), problems: [...problems] };
}
