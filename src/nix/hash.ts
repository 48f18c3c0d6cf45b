/**
 * Hash text formats Nix prints and reads: nix32 ("base32" in Nix's own words), base16, base64
 * and SRI. Source of truth: NixOS/nix src/libutil/hash.cc.
 */

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

export const HASH_SIZES: Readonly<Record<HashAlgorithm, number>> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

/** Nix's base-32 alphabet: digits and letters without e, o, u, t. */
export const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

const NIX32_INDEX = new Map([...NIX32_ALPHABET].map((c, i) => [c, i]));

export interface Hash {
  algorithm: HashAlgorithm;
  digest: Buffer;
}

/** Length of the nix32 text of `bytes` bytes. */
export function nix32Length(bytes: number): number {
  return Math.floor((bytes * 8 - 1) / 5) + 1;
}

/**
 * Encodes bytes in nix32. Nix writes the most significant 5-bit group first, where the groups
 * are counted from the start of the byte array (so the last byte ends up at the front).
 */
export function nix32Encode(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  const length = nix32Length(bytes.length);
  let out = '';
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const low = (bytes[i] as number) >> j;
    const high = i >= bytes.length - 1 ? 0 : (bytes[i + 1] as number) << (8 - j);
    out += NIX32_ALPHABET[(low | high) & 0x1f];
  }
  return out;
}

/** Decodes nix32 text; the byte length is the one whose nix32 text has this length. */
export function nix32Decode(text: string): Buffer {
  const size = Math.floor((text.length * 5) / 8);
  if (nix32Length(size) !== text.length) throw new Error(`"${text}" has no valid nix32 length`);
  const bytes = Buffer.alloc(size);
  for (let n = 0; n < text.length; n++) {
    const c = text[text.length - n - 1] as string;
    const digit = NIX32_INDEX.get(c);
    if (digit === undefined) throw new Error(`"${text}" is not nix32: "${c}" is not in ${NIX32_ALPHABET}`);
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    bytes[i] = (bytes[i] as number) | ((digit << j) & 0xff);
    const carry = digit >> (8 - j);
    if (i < size - 1) bytes[i + 1] = (bytes[i + 1] as number) | carry;
    else if (carry) throw new Error(`"${text}" is not nix32: it overflows ${size} bytes`);
  }
  return bytes;
}

function isAlgorithm(text: string): text is HashAlgorithm {
  return Object.hasOwn(HASH_SIZES, text);
}

/** Decodes a digest written in base16, nix32 or base64, told apart by length as Nix does. */
export function decodeDigest(text: string, algorithm: HashAlgorithm): Buffer {
  const size = HASH_SIZES[algorithm];
  if (text.length === size * 2 && /^[0-9a-fA-F]+$/.test(text)) return Buffer.from(text, 'hex');
  if (text.length === nix32Length(size)) return nix32Decode(text);
  if (text.length === Math.ceil(size / 3) * 4) {
    const digest = Buffer.from(text, 'base64');
    if (digest.length === size && /^[A-Za-z0-9+/]+={0,2}$/.test(text)) return digest;
  }
  throw new Error(`"${text}" is not a ${algorithm} digest in base16, nix32 or base64`);
}

/**
 * Parses `sha256-<base64>` (SRI), `sha256:<nix32|base16|base64>`, or a bare digest when
 * `algorithm` is given.
 */
export function parseHash(text: string, algorithm?: HashAlgorithm): Hash {
  const sri = /^(md5|sha1|sha256|sha512)-(.+)$/.exec(text);
  if (sri) {
    const algo = sri[1] as HashAlgorithm;
    const digest = Buffer.from(sri[2] as string, 'base64');
    if (digest.length !== HASH_SIZES[algo] || !/^[A-Za-z0-9+/]+={0,2}$/.test(sri[2] as string)) {
      throw new Error(`"${text}" is not a valid SRI ${algo} hash`);
    }
    return { algorithm: algo, digest };
  }
  const colon = text.indexOf(':');
  if (colon >= 0) {
    const algo = text.slice(0, colon);
    if (!isAlgorithm(algo)) throw new Error(`"${text}" names an unknown hash algorithm "${algo}"`);
    if (algorithm && algo !== algorithm) throw new Error(`"${text}" is a ${algo} hash, expected ${algorithm}`);
    return { algorithm: algo, digest: decodeDigest(text.slice(colon + 1), algo) };
  }
  if (!algorithm) throw new Error(`"${text}" does not say its hash algorithm (expected e.g. sha256:… or sha256-…)`);
  return { algorithm, digest: decodeDigest(text, algorithm) };
}

/** `sha256:<nix32>`, the form narinfo files and signatures use. */
export function formatNix32Hash(hash: Hash): string {
  return `${hash.algorithm}:${nix32Encode(hash.digest)}`;
}

/** `sha256-<base64>`, the form newer Nix prints. */
export function formatSriHash(hash: Hash): string {
  return `${hash.algorithm}-${hash.digest.toString('base64')}`;
}

export function formatBase16Hash(hash: Hash): string {
  return `${hash.algorithm}:${hash.digest.toString('hex')}`;
}

/**
 * Structured hashes printed by some Nix versions (2.33 pre-releases):
 * `{ algorithm: 'sha256', format: 'base64' | 'base16' | 'nix32' | 'base32' | 'sri', hash }`.
 */
export interface HashObject {
  algorithm: string;
  format?: string;
  hash: string;
}

/** Any hash Nix may print (SRI, prefixed, or object), as `sha256:<nix32>`. */
export function toNix32Hash(value: string | HashObject, algorithm: HashAlgorithm = 'sha256'): string {
  return formatNix32Hash(parseAnyHash(value, algorithm));
}

export function parseAnyHash(value: string | HashObject, algorithm?: HashAlgorithm): Hash {
  if (typeof value === 'string') return parseHash(value, algorithm);
  if (!value || typeof value !== 'object' || typeof value.hash !== 'string' || typeof value.algorithm !== 'string') {
    throw new Error(`${JSON.stringify(value)} is not a hash`);
  }
  const algo = value.algorithm;
  if (!isAlgorithm(algo)) throw new Error(`${JSON.stringify(value)} names an unknown hash algorithm`);
  if (value.format === 'sri' || /^(md5|sha1|sha256|sha512)-/.test(value.hash)) return parseHash(value.hash, algo);
  return { algorithm: algo, digest: decodeDigest(value.hash.replace(/^\w+:/, ''), algo) };
}
