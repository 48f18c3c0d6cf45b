import { parseNarInfo } from '../cache/narinfo.js';
import type { BinaryCacheStore, StoreObject } from '../cache/store.js';
import { storePathHashPart } from '../nix/path-info.js';
import { mapConcurrent } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import type { Log } from '../util/log.js';
import { CONDEMNED_KEY, readCondemned, renderCondemned, type Condemned } from './records.js';
import { collectRoots, type GcRoot, type RootOptions, type RootReason } from './roots.js';

export interface CollectOptions extends RootOptions {
  store: BinaryCacheStore;
  /** Nothing younger is collected (a push in flight), and a path must stay condemned this long before it goes. */
  minAgeMs: number;
  /** Report only: nothing is deleted or recorded. */
  dryRun: boolean;
  log: Log;
  now?: () => Date;
  /** Narinfo reads in flight (default 32). */
  concurrency?: number;
  /** Called after planning, before the store is listed again and objects are deleted (tests interleave a push here). */
  beforeSweep?: () => Promise<void>;
}

export interface ObjectCount {
  narinfos: number;
  nars: number;
  /** NAR bytes, where the store lists sizes. */
  bytes: number;
}

export interface GcReport {
  dryRun: boolean;
  listed: ObjectCount;
  /** Roots per reason (a path held twice counts twice). */
  roots: Record<RootReason | 'recent', number>;
  /** Roots whose narinfo the cache does not have, and references a kept narinfo names that are gone: broken already. */
  missing: { path: string; why: string }[];
  kept: ObjectCount;
  /** Unreachable now, recorded: they go once they have been condemned for min-age (the next collections). */
  condemned: ObjectCount;
  /** Unreachable, and condemned for min-age already: deleted (in a dry run, what would be). */
  deleted: ObjectCount;
  /** The store paths of the deleted narinfos (the narinfo's key where it could not be read). */
  deletedPaths: string[];
  /** Deletable, but written again or reached by a path pushed during the collection: kept. */
  spared: number;
}

const NARINFO = /^([0-9a-df-np-sv-z]{32})\.narinfo$/;
const LISTING = /^([0-9a-df-np-sv-z]{32})\.ls$/;

interface Listing {
  narinfos: Map<string, StoreObject>;
  nars: Map<string, StoreObject>;
  /** Optional `.ls` file listings, by hash part: they go with their narinfo. */
  listings: Map<string, StoreObject>;
  fleet: StoreObject[];
}

function sortListing(objects: readonly StoreObject[]): Listing {
  const listing: Listing = { narinfos: new Map(), nars: new Map(), listings: new Map(), fleet: [] };
  for (const object of objects) {
    const narinfo = NARINFO.exec(object.key);
    const ls = LISTING.exec(object.key);
    if (narinfo) listing.narinfos.set(narinfo[1] as string, object);
    else if (ls) listing.listings.set(ls[1] as string, object);
    else if (object.key.startsWith('nar/')) listing.nars.set(object.key, object);
    else if (object.key.startsWith('fleet/')) listing.fleet.push(object);
  }
  return listing;
}

const count = (narinfos: number, nars: readonly StoreObject[]): ObjectCount => ({ narinfos, nars: nars.length, bytes: nars.reduce((sum, n) => sum + (n.size ?? 0), 0) });
const sameWrite = (a: StoreObject | undefined, b: StoreObject | undefined): boolean => a?.modifiedAt?.getTime() === b?.modifiedAt?.getTime() && a?.size === b?.size;

/**
 * Collects the cache's garbage: everything not in the closure of a root (collectRoots) nor younger
 * than min-age. A path goes only after it has been found unreachable for min-age, across
 * collections (fleet/gc/condemned.json), and action-build pushes a condemned path again instead of
 * relying on it, so a build that started before a collection never lands on a path it removed.
 * Right before deleting, the store is listed again: whatever was written since, and the closures
 * of narinfos that arrived, are spared. Narinfos go first, then NARs, so no reader sees a narinfo
 * whose NAR is gone. Each run starts from the store itself, so a killed run is finished by the next.
 */
export async function collectGarbage(options: CollectOptions): Promise<GcReport> {
  const { store, log } = options;
  const now = (options.now ?? (() => new Date()))();
  const concurrency = options.concurrency ?? 32;
  const cutoff = now.getTime() - options.minAgeMs;
  const old = (o: StoreObject) => o.modifiedAt !== undefined && o.modifiedAt.getTime() <= cutoff;

  const listing = sortListing(await store.listObjects(''));
  log.info(`listed ${store.url}: ${listing.narinfos.size} narinfos, ${listing.nars.size} NARs`);
  const previous = await readCondemned(store);
  const roots: GcRoot[] = await collectRoots(store, listing.fleet, options);
  const rootHashes = new Set(roots.map((r) => storePathHashPart(r.path)));
  // Young narinfos are roots: their pushes may be in flight, and may rely on older paths.
  for (const [hash, object] of listing.narinfos) if (!old(object)) rootHashes.add(hash);
  const recent = [...listing.narinfos.values()].filter((o) => !old(o)).length;

  const missing: GcReport['missing'] = [];
  const narOf = new Map<string, string>();
  const live = new Set<string>();
  const walk = async (from: Iterable<string>, known: Listing, whyMissing: (hash: string) => string | undefined) => {
    let frontier = [...new Set(from)].filter((h) => !live.has(h));
    while (frontier.length > 0) {
      for (const hash of frontier) live.add(hash);
      const next = await mapConcurrent(frontier, concurrency, async (hash) => {
        if (!known.narinfos.has(hash)) {
          const why = whyMissing(hash);
          if (why) missing.push({ path: hash, why });
          return [];
        }
        const body = await store.get(`${hash}.narinfo`);
        if (body === undefined) return [];
        let info;
        try {
          info = parseNarInfo(body.toString('utf8'), `${hash}.narinfo`);
        } catch (error) {
          // An unreadable narinfo keeps what it is; what it references is unknown, so nothing it might need is.
          throw new Error(`${hash}.narinfo cannot be read (${errorMessage(error)}), so its references are unknown: nothing is collected until it is repaired or removed`, { cause: error });
        }
        narOf.set(hash, info.url);
        return info.references.map(storePathHashPart).filter((h) => h !== hash);
      });
      frontier = [...new Set(next.flat())].filter((h) => !live.has(h));
    }
  };
  const rootNames = new Map(roots.map((r) => [storePathHashPart(r.path), r]));
  await walk(rootHashes, listing, (hash) => {
    const root = rootNames.get(hash);
    return root ? `${root.path} (${root.reason} of ${root.holder}) is not in the cache` : `a path kept references ${hash}, which is not in the cache`;
  });
  const liveNars = new Set(narOf.values());

  const condemnedNarinfos = [...listing.narinfos.keys()].filter((h) => !live.has(h));
  // The NAR and store path of each condemned narinfo: from the record, else read once now (a NAR goes only when no narinfo left points to it).
  const condemnedNarOf = new Map<string, string>();
  const condemnedPathOf = new Map<string, string>();
  const unread = condemnedNarinfos.filter((hash) => {
    const nar = previous.narOf.get(hash);
    const storePath = previous.pathOf.get(hash);
    if (nar) condemnedNarOf.set(hash, nar);
    if (storePath) condemnedPathOf.set(hash, storePath);
    return !nar || !storePath;
  });
  await mapConcurrent(unread, concurrency, async (hash) => {
    const body = await store.get(`${hash}.narinfo`);
    try {
      if (!body) return;
      const info = parseNarInfo(body.toString('utf8'), `${hash}.narinfo`);
      condemnedNarOf.set(hash, info.url);
      condemnedPathOf.set(hash, info.storePath);
    } catch {
      // Unreadable and unreachable: Nix cannot use it either, and it goes like any other.
    }
  });
  const pathsOf = (hashes: readonly string[]) => hashes.map((h) => condemnedPathOf.get(h) ?? `${h}.narinfo`).sort();
  const condemnedNars = [...listing.nars.values()].filter((n) => !liveNars.has(n.key) && old(n));
  const condemnedKeys = [...condemnedNarinfos.map((h) => `${h}.narinfo`), ...condemnedNars.map((n) => n.key)];
  // Deletable: condemned for min-age by an earlier run, and not written since.
  const deletable = (key: string, object: StoreObject | undefined): boolean => {
    const since = previous.since.get(key);
    return since !== undefined && since.getTime() <= cutoff && object?.modifiedAt !== undefined && object.modifiedAt.getTime() <= since.getTime();
  };
  const referencedOnceGone = (narinfos: readonly string[]): Set<string> => {
    const gone = new Set(narinfos);
    return new Set([...narOf.values(), ...[...condemnedNarOf].filter(([hash]) => !gone.has(hash)).map(([, nar]) => nar)]);
  };
  let goNarinfos = condemnedNarinfos.filter((h) => deletable(`${h}.narinfo`, listing.narinfos.get(h)));
  const referenced = referencedOnceGone(goNarinfos);
  let goNars = condemnedNars.filter((n) => deletable(n.key, n) && !referenced.has(n.key));

  const report: GcReport = {
    dryRun: options.dryRun,
    listed: count(listing.narinfos.size, [...listing.nars.values()]),
    roots: { manifest: 0, running: 0, booted: 0, generation: 0, build: 0, pinned: 0, recent },
    missing,
    kept: count([...listing.narinfos.keys()].filter((h) => live.has(h)).length, [...listing.nars.values()].filter((n) => liveNars.has(n.key))),
    condemned: count(condemnedNarinfos.length, condemnedNars),
    deleted: count(goNarinfos.length, goNars),
    deletedPaths: pathsOf(goNarinfos),
    spared: 0,
  };
  for (const root of roots) report.roots[root.reason]++;
  if (missing.length > 0) {
    const shown = missing.slice(0, 3).map((m) => m.why).join('; ');
    log.warning(`${missing.length} roots or references are not in the cache, so nothing can keep them: ${shown}${missing.length > 3 ? '; …' : ''} (the report lists them all)`);
  }
  if (options.dryRun) return report;

  if (goNarinfos.length > 0 || goNars.length > 0) {
    await options.beforeSweep?.();
    // What was written since the listing is spared, and so is the closure of every narinfo that arrived.
    const fresh = sortListing(await store.listObjects(''));
    const arrived = [...fresh.narinfos].filter(([hash, object]) => !sameWrite(listing.narinfos.get(hash), object)).map(([hash]) => hash);
    for (const hash of arrived) live.delete(hash);
    await walk(arrived, fresh, () => undefined);
    const before = goNarinfos.length + goNars.length;
    goNarinfos = goNarinfos.filter((h) => !live.has(h) && sameWrite(listing.narinfos.get(h), fresh.narinfos.get(h)));
    const stillReferenced = referencedOnceGone(goNarinfos);
    goNars = goNars.filter((n) => !stillReferenced.has(n.key) && sameWrite(n, fresh.nars.get(n.key)));
    report.spared = before - goNarinfos.length - goNars.length;
    report.deleted = count(goNarinfos.length, goNars);
    report.deletedPaths = pathsOf(goNarinfos);

    const narinfoKeys = goNarinfos.flatMap((h) => [`${h}.narinfo`, ...(listing.listings.has(h) ? [`${h}.ls`] : [])]);
    log.info(`deleting ${goNarinfos.length} narinfos, then ${goNars.length} NARs${report.spared > 0 ? ` (${report.spared} spared: written or reached since the listing)` : ''}`);
    await store.deleteMany(narinfoKeys);
    await store.deleteMany(goNars.map((n) => n.key));
  }

  // What stays condemned keeps its first condemnation time; what was reached or written since leaves the record.
  const deleted = new Set([...goNarinfos.map((h) => `${h}.narinfo`), ...goNars.map((n) => n.key)]);
  const liveNow = new Set(narOf.values());
  const record: Condemned = { since: new Map(), narOf: new Map(), pathOf: new Map() };
  for (const key of condemnedKeys) {
    const hash = NARINFO.exec(key)?.[1];
    if (deleted.has(key) || (hash ? live.has(hash) : liveNow.has(key))) continue;
    record.since.set(key, previous.since.get(key) ?? now);
    if (!hash) continue;
    const nar = condemnedNarOf.get(hash);
    const storePath = condemnedPathOf.get(hash);
    if (nar) record.narOf.set(hash, nar);
    if (storePath) record.pathOf.set(hash, storePath);
  }
  await store.put(CONDEMNED_KEY, renderCondemned(record), 'application/json');
  return report;
}
