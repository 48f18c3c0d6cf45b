import { formatNix32Hash, parseHash } from '../nix/hash.js';
import { DEFAULT_STORE_DIR, storePathBaseName, storePathHashPart } from '../nix/path-info.js';

/**
 * A `<hashPart>.narinfo` file (NixOS/nix src/libstore/nar-info.cc). Store paths are kept whole
 * here; the file itself writes references and the deriver as base names.
 */
export interface NarInfo {
  storePath: string;
  /** Relative to the cache root, e.g. `nar/<name>.nar.zst`. */
  url: string;
  /** `zstd`, `xz`, `none`, … (Nix assumes `bzip2` when the line is absent). */
  compression: string;
  /** `sha256:<nix32>` of the file at `url`. */
  fileHash?: string;
  fileSize?: number;
  /** `sha256:<nix32>` of the uncompressed NAR. */
  narHash: string;
  narSize: number;
  /** Full store paths; may include `storePath` itself. */
  references: string[];
  /** Full store path of the derivation. */
  deriver?: string;
  /** `keyName:base64` signatures. */
  sigs: string[];
  /** Content address, e.g. `fixed:r:sha256:<nix32>`. */
  ca?: string;
}

/** The fields a signature covers. */
export interface FingerprintFields {
  storePath: string;
  narHash: string;
  narSize: number;
  references: readonly string[];
}

export function narInfoKey(storePath: string): string {
  return `${storePathHashPart(storePath)}.narinfo`;
}

/** 52 nix32 digits; the first carries the top bit of 256 only, so it is 0 or 1. */
const CANONICAL_SHA256 = /^sha256:[01][0-9a-df-np-sv-z]{51}$/;

/** `sha256:<nix32>` from any sha256 text Nix prints (SRI, base16, base64, nix32). */
export function normalizeSha256(text: string): string {
  // Already canonical (the common case, several times per pushed path): skip the decode.
  if (CANONICAL_SHA256.test(text)) return text;
  return formatNix32Hash(parseHash(text, 'sha256'));
}

/**
 * What Nix signs: `1;<storePath>;<narHash>;<narSize>;<references, sorted, comma-joined>`
 * (ValidPathInfo::fingerprint). Nix refuses to fingerprint a path without a NAR size.
 */
export function fingerprint(fields: FingerprintFields): string {
  if (!(fields.narSize > 0)) throw new Error(`cannot fingerprint ${fields.storePath}: its NAR size is unknown`);
  const refs = [...new Set(fields.references)].sort();
  return `1;${fields.storePath};${normalizeSha256(fields.narHash)};${fields.narSize};${refs.join(',')}`;
}

/** Renders the file in Nix's own field order. References and Deriver are written as base names. */
export function renderNarInfo(info: NarInfo): string {
  const lines = [`StorePath: ${info.storePath}`, `URL: ${info.url}`, `Compression: ${info.compression}`];
  if (info.fileHash !== undefined) lines.push(`FileHash: ${normalizeSha256(info.fileHash)}`);
  if (info.fileSize !== undefined) lines.push(`FileSize: ${info.fileSize}`);
  lines.push(`NarHash: ${normalizeSha256(info.narHash)}`, `NarSize: ${info.narSize}`);
  // Nix reads "References: " with its trailing space even when empty; "References:" would break its parser.
  lines.push(`References: ${[...new Set(info.references)].sort().map(storePathBaseName).join(' ')}`);
  if (info.deriver) lines.push(`Deriver: ${storePathBaseName(info.deriver)}`);
  // Nix keeps signatures in a sorted set.
  for (const sig of [...new Set(info.sigs)].sort()) lines.push(`Sig: ${sig}`);
  if (info.ca) lines.push(`CA: ${info.ca}`);
  return `${lines.join('\n')}\n`;
}

export class NarInfoParseError extends Error {
  override name = 'NarInfoParseError';
}

/**
 * Parses a narinfo. Unknown fields are ignored, as Nix does; missing required fields, a bad
 * hash or a store path outside `storeDir` are errors that name `whence`.
 */
export function parseNarInfo(text: string, whence = 'narinfo', storeDir = DEFAULT_STORE_DIR): NarInfo {
  const corrupt = (why: string): NarInfoParseError => new NarInfoParseError(`${whence} is corrupt: ${why}`);
  const fields = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw corrupt(`line "${line.slice(0, 80)}" is not "Name: value"`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    const list = fields.get(name);
    if (list) list.push(value);
    else fields.set(name, [value]);
  }
  const one = (name: string): string | undefined => {
    const values = fields.get(name);
    if (values && values.length > 1 && name !== 'Sig') throw corrupt(`${name} appears ${values.length} times`);
    return values?.[0];
  };
  const required = (name: string): string => {
    const value = one(name);
    if (value === undefined || value === '') throw corrupt(`it has no ${name}`);
    return value;
  };
  const size = (name: string, value: string): number => {
    if (!/^\d+$/.test(value)) throw corrupt(`${name} "${value}" is not a number`);
    return Number(value);
  };
  const hash = (name: string, value: string): string => {
    try {
      return normalizeSha256(value);
    } catch (error) {
      throw corrupt(`${name}: ${(error as Error).message}`);
    }
  };
  const inStore = (base: string, what: string): string => {
    const path = `${storeDir}/${base}`;
    try {
      storePathHashPart(path);
    } catch {
      throw corrupt(`${what} "${base}" is not a store path name`);
    }
    return path;
  };

  const storePath = required('StorePath');
  if (!storePath.startsWith(`${storeDir}/`)) throw corrupt(`StorePath ${storePath} is not in ${storeDir}`);
  inStore(storePath.slice(storeDir.length + 1), 'StorePath');
  const narSize = size('NarSize', required('NarSize'));
  if (narSize === 0) throw corrupt('NarSize is 0');
  const info: NarInfo = {
    storePath,
    url: required('URL'),
    compression: one('Compression') || 'bzip2',
    narHash: hash('NarHash', required('NarHash')),
    narSize,
    references: (one('References') ?? '')
      .split(' ')
      .filter((r) => r !== '')
      .map((r) => inStore(r, 'reference')),
    sigs: fields.get('Sig') ?? [],
  };
  const fileHash = one('FileHash');
  if (fileHash) info.fileHash = hash('FileHash', fileHash);
  const fileSize = one('FileSize');
  if (fileSize) info.fileSize = size('FileSize', fileSize);
  const deriver = one('Deriver');
  if (deriver && deriver !== 'unknown-deriver') info.deriver = inStore(deriver, 'Deriver');
  const ca = one('CA');
  if (ca) info.ca = ca;
  return info;
}
