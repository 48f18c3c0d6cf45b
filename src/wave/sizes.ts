import { narInfoKey, parseNarInfo } from '../cache/narinfo.js';
import type { Nix } from '../nix/nix.js';
import { mapConcurrent } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import type { Log } from '../util/log.js';

/** One path of a closure: its NAR size, and the compressed size a host downloads when known. */
export interface ClosureEntry {
  narSize: number;
  fileSize?: number;
}

export type Closure = Map<string, ClosureEntry>;

/** Finds the closure of a store path, or undefined when this source does not know the path. */
export type ClosureSource = (path: string) => Promise<Closure | undefined>;

/** The part of a cache store the narinfos are read from. */
export interface NarInfoReader {
  get(key: string): Promise<Buffer | undefined>;
}

/**
 * A closure walked through the cache's narinfo files, with the compressed sizes hosts download.
 * A path whose narinfo (or any of whose references' narinfos) is missing yields undefined.
 */
export function cacheClosures(store: NarInfoReader, options: { concurrency?: number; log?: Log } = {}): ClosureSource {
  const known = new Map<string, Promise<{ entry: ClosureEntry; references: string[] } | undefined>>();
  const narinfo = (path: string) => {
    let pending = known.get(path);
    if (!pending) {
      pending = (async () => {
        try {
          const body = await store.get(narInfoKey(path));
          if (!body) return undefined;
          const info = parseNarInfo(body.toString('utf8'), narInfoKey(path));
          return { entry: { narSize: info.narSize, ...(info.fileSize !== undefined ? { fileSize: info.fileSize } : {}) }, references: info.references };
        } catch (error) {
          options.log?.debug(`narinfo of ${path}: ${errorMessage(error)}`);
          return undefined;
        }
      })();
      known.set(path, pending);
    }
    return pending;
  };
  return async (root) => {
    const closure: Closure = new Map();
    let frontier = [root];
    const visited = new Set<string>();
    while (frontier.length > 0) {
      const batch = frontier.filter((p) => !visited.has(p));
      batch.forEach((p) => visited.add(p));
      const infos = await mapConcurrent(batch, options.concurrency ?? 16, narinfo);
      const next: string[] = [];
      for (const [i, info] of infos.entries()) {
        if (!info) return undefined;
        closure.set(batch[i] as string, info.entry);
        next.push(...info.references.filter((r) => !visited.has(r)));
      }
      frontier = [...new Set(next)];
    }
    return closure;
  };
}

/** A closure from the local Nix store (`nix path-info --recursive`); NAR sizes only. */
export function localClosures(nix: Nix): ClosureSource {
  return async (root) => {
    try {
      const infos = await nix.pathInfo([root], { recursive: true, allowInvalid: true });
      if (!infos.some((info) => info.path === root)) return undefined;
      return new Map(infos.map((info) => [info.path, { narSize: info.narSize }]));
    } catch {
      return undefined;
    }
  };
}

/** The first source that knows the path wins. */
export function firstClosure(...sources: ClosureSource[]): ClosureSource {
  return async (path) => {
    for (const source of sources) {
      const closure = await source(path);
      if (closure) return closure;
    }
    return undefined;
  };
}

export interface SizeChange {
  host: string;
  from?: string;
  to?: string;
  /** Total NAR size of the closure before and after. */
  closureBefore?: number;
  closureAfter?: number;
  /** closureAfter - closureBefore. */
  change?: number;
  /** What the host fetches: the paths of the new closure it does not have. */
  download?: number;
  /** True when `download` counts compressed files from the cache; false when NAR sizes stand in. */
  downloadCompressed?: boolean;
  /** What the host's link delivered at its last fetch (bytes per second), as it reported. */
  fetchBytesPerSecond?: number;
  note?: string;
}

/** The size change of moving a host from `from` to `to`; unknown parts stay undefined. */
export async function sizeChange(host: string, from: string | undefined, to: string | undefined, closures: ClosureSource): Promise<SizeChange> {
  const change: SizeChange = { host, ...(from ? { from } : {}), ...(to ? { to } : {}) };
  if (!to) return { ...change, note: 'the new system is not known' };
  if (from === to) return { ...change, change: 0, download: 0, downloadCompressed: true, note: 'no change' };
  const [before, after] = await Promise.all([from ? closures(from) : Promise.resolve(undefined), closures(to)]);
  const sum = (closure: Closure) => [...closure.values()].reduce((total, e) => total + e.narSize, 0);
  if (before) change.closureBefore = sum(before);
  if (after) change.closureAfter = sum(after);
  if (before && after) {
    change.change = sum(after) - sum(before);
    const fetched = [...after].filter(([path]) => !before.has(path)).map(([, entry]) => entry);
    const compressed = fetched.every((e) => e.fileSize !== undefined);
    change.download = fetched.reduce((total, e) => total + (compressed ? (e.fileSize as number) : e.narSize), 0);
    change.downloadCompressed = compressed;
  } else {
    change.note = !after ? 'the new closure is in neither the cache nor the local store' : 'the running closure is in neither the cache nor the local store';
  }
  return change;
}
