import type { BinaryCacheStore, StoreObject } from '../cache/store.js';
import { STORE_PATH } from '../deploy/pull/manifest.js';
import { MANIFEST_ROOT, parsePointer } from '../deploy/pull/pointer.js';
import { parseStatusReport, STATUS_PREFIX } from '../fleet/status.js';
import { FLEET_STORE_DIRECTORIES } from '../fleet/store-layout.js';
import { mapConcurrent } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import { BUILDS_PREFIX, parseBuildRecord } from './records.js';

export type RootReason = 'manifest' | 'running' | 'booted' | 'generation' | 'build' | 'pinned';

/** A store path kept with its whole closure, and why. */
export interface GcRoot {
  path: string;
  reason: RootReason;
  /** What holds it: `production/web1`, `web1`, `refs/heads/main 2026-12-01 abc1234`, `fleet.yaml`. */
  holder: string;
}

export interface RootOptions {
  /** Builds kept per ref, newest first. */
  keepBuilds: number;
  /** Earlier generations kept per host, where its report lists them. */
  keepGenerations: number;
  /** The inventory's pinned paths. */
  pinned: readonly string[];
}


/**
 * Every root the store names: current manifests (the manifest object and its system), what each host
 * reports running and booted (and its earlier generations), the last builds of each ref, and the
 * inventory's pins. An unreadable pointer, report or build record throws: a collection that cannot
 * tell what a host needs must not delete anything.
 */
export async function collectRoots(store: Pick<BinaryCacheStore, 'get'>, fleetObjects: readonly StoreObject[], options: RootOptions): Promise<GcRoot[]> {
  const roots: GcRoot[] = options.pinned.map((path) => ({ path, reason: 'pinned', holder: 'inventory' }));
  const read = async (key: string): Promise<Buffer> => {
    const body = await store.get(key, { notFoundOnly: true });
    if (body === undefined) throw new Error(`${key} disappeared while the collection read it`);
    return body;
  };
  const keys = fleetObjects.map((o) => o.key);
  const pointers = keys.filter((k) => {
    const directory = /^fleet\/([^/]+)\/[^/]+\.json$/.exec(k)?.[1];
    return directory !== undefined && !FLEET_STORE_DIRECTORIES.includes(directory);
  });
  const reports = keys.filter((k) => k.startsWith(STATUS_PREFIX) && /^[^/]+\.json$/.test(k.slice(STATUS_PREFIX.length)));
  const builds = newestBuilds(keys.filter((k) => k.startsWith(BUILDS_PREFIX) && k.endsWith('.json')), options.keepBuilds);

  const found = await mapConcurrent([...pointers.map((k) => ['pointer', k] as const), ...reports.map((k) => ['report', k] as const), ...builds.map((k) => ['build', k] as const)], 16, async ([kind, key]) => {
    try {
      const body = await read(key);
      if (kind === 'pointer') return pointerRoots(key, body);
      if (kind === 'report') return reportRoots(body, options.keepGenerations);
      return buildRoots(key, body);
    } catch (error) {
      throw new Error(`cannot tell what ${key} keeps, so nothing is collected: ${errorMessage(error)}`, { cause: error });
    }
  });
  return [...roots, ...found.flat()];
}

/** The `keep` newest records of each ref (their names sort by time). */
function newestBuilds(keys: readonly string[], keep: number): string[] {
  const byRef = new Map<string, string[]>();
  for (const key of keys) {
    const ref = key.slice(BUILDS_PREFIX.length, key.lastIndexOf('/'));
    byRef.set(ref, [...(byRef.get(ref) ?? []), key]);
  }
  return [...byRef.values()].flatMap((list) => list.sort().reverse().slice(0, keep));
}

function pointerRoots(key: string, body: Buffer): GcRoot[] {
  const holder = key.slice(MANIFEST_ROOT.length, -'.json'.length);
  const pointer = parsePointer(body, key);
  const system = (pointer.manifest as { system?: unknown } | null)?.system;
  if (typeof system !== 'string' || !STORE_PATH.test(system)) throw new Error(`${key} carries no manifest with a system path`);
  return [
    { path: pointer.storePath, reason: 'manifest', holder },
    { path: system, reason: 'manifest', holder },
  ];
}

function reportRoots(body: Buffer, keepGenerations: number): GcRoot[] {
  const report = parseStatusReport(body, 'the report');
  const earlier = (report.generations ?? []).slice(0, keepGenerations);
  return [
    { path: report.system, reason: 'running', holder: report.host },
    { path: report.booted, reason: 'booted', holder: report.host },
    ...earlier.map((path): GcRoot => ({ path, reason: 'generation', holder: report.host })),
  ];
}

function buildRoots(key: string, body: Buffer): GcRoot[] {
  const record = parseBuildRecord(body, key);
  const holder = `${record.ref} ${record.builtAt.slice(0, 10)} ${record.sha.slice(0, 7)}`;
  return Object.values(record.storePaths).map((path): GcRoot => ({ path, reason: 'build', holder }));
}
