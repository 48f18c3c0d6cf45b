import { z } from 'zod';
import type { BinaryCacheStore } from '../cache/store.js';
import { STORE_PATH } from '../deploy/pull/manifest.js';
import { errorMessage } from '../util/errors.js';
import { keyTimestamp } from '../util/timestamp.js';

/**
 * What fleet keeps in a cache store besides Nix's objects, for its garbage collection:
 *
 *   fleet/builds/<ref>/<time>-<sha>.json   a build's store-paths (action-build writes one per pushed build;
 *                                          <ref> is the ref URI-encoded, <time> YYYYMMDDTHHMMSSZ)
 *   fleet/gc/condemned.json                what the last collection found unreachable, and when: the next
 *                                          collection deletes only what is still unreachable then, and
 *                                          action-build pushes a condemned path again rather than rely on it
 */
export const BUILDS_PREFIX = 'fleet/builds/';
export const CONDEMNED_KEY = 'fleet/gc/condemned.json';

const buildRecordSchema = z.object({
  format: z.literal(1),
  ref: z.string().min(1),
  sha: z.string().regex(/^[0-9a-f]{7,64}$/),
  builtAt: z.iso.datetime({ offset: true }),
  storePaths: z.record(z.string(), z.string().regex(STORE_PATH)),
});
export type BuildRecord = z.infer<typeof buildRecordSchema>;

const condemnedSchema = z.object({
  format: z.literal(1),
  /** Condemnation time → the narinfo and NAR keys condemned then. */
  condemned: z.record(z.iso.datetime({ offset: true }), z.array(z.string())),
  /** Hash part of each condemned narinfo → its NAR's key. */
  nars: z.record(z.string(), z.string()).default({}),
  /** Hash part of each condemned narinfo → its store path, for the reports. */
  paths: z.record(z.string(), z.string().regex(STORE_PATH)).default({}),
});

/** What the last collections condemned: since when, and which NAR and store path each condemned narinfo is. */
export interface Condemned {
  since: Map<string, Date>;
  narOf: Map<string, string>;
  pathOf: Map<string, string>;
}

export function buildRecordKey(record: Pick<BuildRecord, 'ref' | 'sha' | 'builtAt'>): string {
  return `${BUILDS_PREFIX}${encodeURIComponent(record.ref)}/${keyTimestamp(new Date(record.builtAt))}-${record.sha.slice(0, 12)}.json`;
}

export async function writeBuildRecord(store: Pick<BinaryCacheStore, 'put'>, record: BuildRecord): Promise<string> {
  const key = buildRecordKey(record);
  await store.put(key, `${JSON.stringify(record, null, 2)}\n`, 'application/json');
  return key;
}

export function parseBuildRecord(text: Buffer | string, whence: string): BuildRecord {
  try {
    return buildRecordSchema.parse(JSON.parse(text.toString()));
  } catch (error) {
    throw new Error(`${whence} is not a build record: ${errorMessage(error)}`, { cause: error });
  }
}

/** The record: keys grouped by condemnation time, and the condemned narinfos' NARs and store paths. */
export function renderCondemned(condemned: Condemned): string {
  const byTime: Record<string, string[]> = {};
  for (const [key, at] of condemned.since) (byTime[at.toISOString()] ??= []).push(key);
  for (const keys of Object.values(byTime)) keys.sort();
  return `${JSON.stringify({ format: 1, condemned: byTime, nars: Object.fromEntries([...condemned.narOf].sort()), paths: Object.fromEntries([...condemned.pathOf].sort()) })}\n`;
}

/** The last record (empty when no collection wrote one). */
export async function readCondemned(store: Pick<BinaryCacheStore, 'get'>): Promise<Condemned> {
  const body = await store.get(CONDEMNED_KEY, { notFoundOnly: true });
  const condemned: Condemned = { since: new Map(), narOf: new Map(), pathOf: new Map() };
  if (body === undefined) return condemned;
  let parsed;
  try {
    parsed = condemnedSchema.parse(JSON.parse(body.toString('utf8')));
  } catch (error) {
    throw new Error(`${CONDEMNED_KEY} is not a condemnation record (${errorMessage(error)}); delete it, and the next collection condemns afresh`, { cause: error });
  }
  for (const [at, keys] of Object.entries(parsed.condemned)) for (const key of keys) condemned.since.set(key, new Date(at));
  for (const [hash, nar] of Object.entries(parsed.nars)) condemned.narOf.set(hash, nar);
  for (const [hash, storePath] of Object.entries(parsed.paths)) condemned.pathOf.set(hash, storePath);
  return condemned;
}
