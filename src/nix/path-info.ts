import { nix32Encode, parseAnyHash, toNix32Hash, type HashObject } from './hash.js';

export const DEFAULT_STORE_DIR = '/nix/store';

/** What Nix knows about one valid store path, in one shape whatever the Nix version. */
export interface PathInfo {
  /** Full store path. */
  path: string;
  /** Always `sha256:<nix32>`, the form narinfo files and signatures use. */
  narHash: string;
  narSize: number;
  /** Full store paths, sorted. May include `path` itself. */
  references: string[];
  /** Full store path of the derivation that built it, when known. */
  deriver?: string;
  /** `keyName:base64` strings. */
  signatures: string[];
  /** Content address in narinfo form, e.g. `fixed:r:sha256:<nix32>` or `text:sha256:<nix32>`. */
  ca?: string;
  /** Seconds since the epoch. */
  registrationTime?: number;
  /** Present when asked for (`--closure-size`). */
  closureSize?: number;
  /** Built locally rather than substituted. */
  ultimate?: boolean;
}

export interface ParsedPathInfos {
  /** Valid paths, in the order Nix printed them. */
  infos: PathInfo[];
  /** Paths Nix reported as not valid (not in the store). */
  invalid: string[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Newer JSON formats (path-info v2+) print store paths as base names. */
function fullPath(p: string, storeDir: string): string {
  return p.startsWith('/') ? p : `${storeDir}/${p}`;
}

function signatureText(sig: unknown): string {
  if (typeof sig === 'string') return sig;
  if (isObject(sig) && typeof sig.keyName === 'string' && typeof sig.sig === 'string') return `${sig.keyName}:${sig.sig}`;
  throw new Error(`unexpected signature ${JSON.stringify(sig)}`);
}

/** Renders a content address the way narinfo's `CA:` line writes it. */
export function contentAddressText(ca: unknown): string | undefined {
  if (ca === null || ca === undefined || ca === '') return undefined;
  if (typeof ca === 'string') return ca;
  if (isObject(ca) && typeof ca.method === 'string' && (typeof ca.hash === 'string' || isObject(ca.hash))) {
    const hash = parseAnyHash(ca.hash as string | HashObject);
    const digest = `${hash.algorithm}:${nix32Encode(hash.digest)}`;
    switch (ca.method) {
      case 'text':
        return `text:${digest}`;
      case 'flat':
        return `fixed:${digest}`;
      case 'nar':
        return `fixed:r:${digest}`;
      case 'git':
        return `fixed:git:${digest}`;
    }
  }
  throw new Error(`unexpected content address ${JSON.stringify(ca)}`);
}

function toPathInfo(path: string, raw: Json, defaultStoreDir: string): PathInfo {
  const storeDir = typeof raw.storeDir === 'string' ? raw.storeDir : defaultStoreDir;
  const full = fullPath(path, storeDir);
  if (raw.narHash === undefined || raw.narHash === null) throw new Error(`path-info for ${full} has no narHash`);
  if (typeof raw.narSize !== 'number') throw new Error(`path-info for ${full} has no narSize`);
  const references = Array.isArray(raw.references) ? raw.references.map((r) => fullPath(String(r), storeDir)) : [];
  const info: PathInfo = {
    path: full,
    narHash: toNix32Hash(raw.narHash as string | HashObject),
    narSize: raw.narSize,
    references: references.sort(),
    signatures: Array.isArray(raw.signatures) ? raw.signatures.map(signatureText) : [],
  };
  if (typeof raw.deriver === 'string' && raw.deriver) info.deriver = fullPath(raw.deriver, storeDir);
  const ca = contentAddressText(raw.ca);
  if (ca) info.ca = ca;
  if (typeof raw.registrationTime === 'number') info.registrationTime = raw.registrationTime;
  if (typeof raw.closureSize === 'number') info.closureSize = raw.closureSize;
  if (typeof raw.ultimate === 'boolean') info.ultimate = raw.ultimate;
  return info;
}

/**
 * Parses `nix path-info --json` output of any Nix version:
 * - up to 2.18 (and Lix): an array of `{ path, narHash, … }`, invalid paths as `{ path, valid: false }`;
 * - 2.19 onwards: an object keyed by path, invalid paths as `null`;
 * - 2.33 `--json-format 2`: the same with base-name store paths, `storeDir`, structured `ca` and
 *   signatures.
 */
export function parsePathInfoJson(input: string | unknown, storeDir = DEFAULT_STORE_DIR): ParsedPathInfos {
  const value = typeof input === 'string' ? (JSON.parse(input) as unknown) : input;
  const infos: PathInfo[] = [];
  const invalid: string[] = [];
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!isObject(entry) || typeof entry.path !== 'string') throw new Error(`unexpected path-info entry ${JSON.stringify(entry)}`);
      if (entry.valid === false) invalid.push(fullPath(entry.path, storeDir));
      else infos.push(toPathInfo(entry.path, entry, storeDir));
    }
  } else if (isObject(value)) {
    // A wrapped document `{ version, info: { path: … } }` carries the map one level down.
    const wrapped = isObject(value.info) && typeof value.version === 'number' && !('narHash' in value);
    const map = wrapped ? (value.info as Json) : value;
    if (wrapped && typeof value.storeDir === 'string') storeDir = value.storeDir;
    for (const [path, entry] of Object.entries(map)) {
      if (entry === null || (isObject(entry) && entry.valid === false)) invalid.push(fullPath(path, storeDir));
      else if (isObject(entry)) infos.push(toPathInfo(path, entry, storeDir));
      else throw new Error(`unexpected path-info entry for ${path}: ${JSON.stringify(entry)}`);
    }
  } else {
    throw new Error('nix path-info --json printed neither an array nor an object');
  }
  return { infos, invalid };
}

/** Sum of NAR sizes over the given infos, each path counted once. */
export function totalNarSize(infos: readonly PathInfo[]): number {
  const seen = new Map<string, number>();
  for (const info of infos) seen.set(info.path, info.narSize);
  let total = 0;
  for (const size of seen.values()) total += size;
  return total;
}

/**
 * Orders infos so every path comes after its references (a path's own self-reference ignored).
 * Paths referenced but absent from `infos` are ignored. Throws on a cycle, which a valid store
 * never has.
 */
export function sortByReferences(infos: readonly PathInfo[]): PathInfo[] {
  const byPath = new Map(infos.map((i) => [i.path, i]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: PathInfo[] = [];
  const visit = (info: PathInfo): void => {
    const s = state.get(info.path);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`reference cycle through ${info.path}`);
    state.set(info.path, 'visiting');
    for (const ref of info.references) {
      const dep = ref === info.path ? undefined : byPath.get(ref);
      if (dep) visit(dep);
    }
    state.set(info.path, 'done');
    out.push(info);
  };
  for (const info of infos) visit(info);
  return out;
}

/** The base name's first 32 characters: how binary caches name a path's narinfo. */
export function storePathHashPart(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const hash = base.slice(0, 32);
  if (!/^[0123456789abcdfghijklmnpqrsvwxyz]{32}$/.test(hash) || base[32] !== '-') throw new Error(`"${path}" is not a store path`);
  return hash;
}

export function storePathBaseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
