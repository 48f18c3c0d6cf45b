import { DEFAULT_STORE_DIR } from '../nix/path-info.js';
import { UserError } from '../util/errors.js';
import type { BinaryCacheStore } from './store.js';

export const CACHE_INFO_KEY = 'nix-cache-info';

/** The `nix-cache-info` file at a binary cache's root. */
export interface CacheInfo {
  storeDir: string;
  wantMassQuery?: boolean;
  priority?: number;
}

export const DEFAULT_CACHE_INFO: CacheInfo = { storeDir: DEFAULT_STORE_DIR, wantMassQuery: true, priority: 40 };

export function renderCacheInfo(info: CacheInfo): string {
  const lines = [`StoreDir: ${info.storeDir}`];
  if (info.wantMassQuery !== undefined) lines.push(`WantMassQuery: ${info.wantMassQuery ? 1 : 0}`);
  if (info.priority !== undefined) lines.push(`Priority: ${info.priority}`);
  return `${lines.join('\n')}\n`;
}

/** Parses the file; unknown fields are ignored, as Nix does. */
export function parseCacheInfo(text: string, whence = CACHE_INFO_KEY): CacheInfo {
  let storeDir: string | undefined;
  const info: Partial<CacheInfo> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name === 'StoreDir') storeDir = value;
    else if (name === 'WantMassQuery') info.wantMassQuery = value === '1' || value === 'true';
    else if (name === 'Priority') {
      if (!/^\d+$/.test(value)) throw new UserError(`${whence}: Priority "${value}" is not a number`);
      info.priority = Number(value);
    }
  }
  if (!storeDir) throw new UserError(`${whence} has no StoreDir line; is this a Nix binary cache?`);
  return { ...info, storeDir };
}

/**
 * Makes sure the store is a binary cache for `storeDir`: writes `nix-cache-info` when it is
 * absent and refuses a cache made for another store directory (its paths would not fit ours).
 */
export async function ensureCacheInfo(store: BinaryCacheStore, wanted: CacheInfo = DEFAULT_CACHE_INFO): Promise<CacheInfo> {
  const existing = await store.get(CACHE_INFO_KEY);
  if (existing === undefined) {
    await store.put(CACHE_INFO_KEY, renderCacheInfo(wanted), 'text/x-nix-cache-info');
    return wanted;
  }
  const info = parseCacheInfo(existing.toString('utf8'), `${store.url}/${CACHE_INFO_KEY}`);
  if (info.storeDir !== wanted.storeDir) {
    throw new UserError(
      `${store.url} is a binary cache for store directory ${info.storeDir}, not ${wanted.storeDir}; paths from ${wanted.storeDir} cannot be pushed to it. Use another cache (or prefix).`,
    );
  }
  return info;
}
