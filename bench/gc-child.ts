/**
 * One step of bench/gc.ts in a process of its own, so that its peak RSS is the collector's alone:
 * `tsx bench/gc-child.ts MODE CACHE_URL OPTIONS_JSON`, printing one JSON object (GcChildResult).
 *   - `baseline`: opens the store and does nothing (the RSS of node, tsx and the SDK);
 *   - `list`: one `store.listObjects('')`, as the collection starts with;
 *   - `collect`: one collectGarbage at OPTIONS.now, the store timed per call kind (listings, the
 *     sweep's deleteMany, the record's put), so that planning can be told from listing.
 */
import { openStore } from '../src/cache/open-store.js';
import type { BinaryCacheStore, StoreObject } from '../src/cache/store.js';
import { collectGarbage, type GcReport } from '../src/gc/collect.js';
import { memoryLog } from '../src/util/log.js';

export interface GcChildOptions {
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** ISO time the collection runs at (collect). */
  now?: string;
  minAgeMs?: number;
  keepBuilds?: number;
  keepGenerations?: number;
  concurrency?: number;
}

export interface GcChildResult {
  mode: 'baseline' | 'list' | 'collect';
  /** Wall time of the step (the collection, or the listing), store opening excluded. */
  ms: number;
  /** CPU time (user + system) of this process over the step. */
  cpuMs: number;
  /** Time inside store.listObjects, and how many listings. */
  listMs: number;
  listings: number;
  /** Objects the last listing returned, and the range of their LastModified (list). */
  listed: number;
  oldest?: string;
  newest?: string;
  /** Time inside store.deleteMany (the sweep), and the keys it was given. */
  deleteMs: number;
  deletedKeys: number;
  /** Time inside store.put (fleet/gc/condemned.json), and its size. */
  putMs: number;
  putBytes: number;
  report?: Omit<GcReport, 'deletedPaths' | 'missing'> & { missing: number; deletedPaths: number };
  maxRssBytes: number;
}

/** The store, with the time spent in each kind of call added up in `timing`. */
function timedStore(store: BinaryCacheStore, timing: Pick<GcChildResult, 'listMs' | 'listings' | 'listed' | 'deleteMs' | 'deletedKeys' | 'putMs' | 'putBytes'>): BinaryCacheStore {
  const timed = async <T>(add: (ms: number) => void, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      add(performance.now() - started);
    }
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'listObjects') {
        return (prefix: string) =>
          timed(
            (ms) => ((timing.listMs += ms), timing.listings++),
            async () => {
              const objects = await target.listObjects(prefix);
              timing.listed = objects.length;
              return objects;
            },
          );
      }
      if (property === 'deleteMany') return (keys: readonly string[]) => timed((ms) => ((timing.deleteMs += ms), (timing.deletedKeys += keys.length)), () => target.deleteMany(keys));
      if (property === 'put') return (key: string, body: Buffer | string, type: string) => timed((ms) => ((timing.putMs += ms), (timing.putBytes += Buffer.byteLength(body))), () => target.put(key, body, type));
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const [mode, cacheUrl, json] = process.argv.slice(2) as ['baseline' | 'list' | 'collect', string, string];
const options = JSON.parse(json) as GcChildOptions;
const log = memoryLog();
const opened = openStore(cacheUrl, { credentials: options.credentials, log });
const result: GcChildResult = { mode, ms: 0, cpuMs: 0, listMs: 0, listings: 0, listed: 0, deleteMs: 0, deletedKeys: 0, putMs: 0, putBytes: 0, maxRssBytes: 0 };
const store = timedStore(opened, result);
try {
  const started = performance.now();
  const cpu = process.cpuUsage();
  if (mode === 'list') {
    const objects: StoreObject[] = await store.listObjects('');
    result.ms = performance.now() - started;
    const times = objects.flatMap((o) => (o.modifiedAt ? [o.modifiedAt.getTime()] : []));
    if (times.length > 0) {
      result.oldest = new Date(times.reduce((a, b) => Math.min(a, b))).toISOString();
      result.newest = new Date(times.reduce((a, b) => Math.max(a, b))).toISOString();
    }
  } else if (mode === 'collect') {
    const now = new Date(options.now ?? Date.now());
    const report = await collectGarbage({
      store,
      keepBuilds: options.keepBuilds ?? 10,
      keepGenerations: options.keepGenerations ?? 3,
      pinned: [],
      minAgeMs: options.minAgeMs ?? 3_600_000,
      dryRun: false,
      now: () => now,
      log,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
    result.ms = performance.now() - started;
    result.report = { ...report, missing: report.missing.length, deletedPaths: report.deletedPaths.length };
  }
  const used = process.cpuUsage(cpu);
  result.cpuMs = (used.user + used.system) / 1000;
} catch (error) {
  process.stderr.write(`${log.lines.join('\n')}\n`);
  throw error;
} finally {
  await opened.close();
}
result.maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify(result));
