import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fingerprint } from '../../cache/narinfo.js';
import { verifyAny, type PublicKey, type SigningKey } from '../../cache/signing.js';
import { formatNix32Hash, nix32Encode, parseHash } from '../../nix/hash.js';
import { errorMessage } from '../../util/errors.js';

/**
 * The desired-state manifest of one pull host, and the way it is signed.
 *
 * The signed object is a store path. Its content is the manifest as canonical JSON (one line:
 * keys sorted, no white space, then "\n"); it is published in the cache as a NAR with a narinfo
 * whose `Sig` is the manifest key's Ed25519 signature of the usual fingerprint
 * `1;<storePath>;<narHash>;<narSize>;`. A host verifies it with Nix itself: it substitutes the
 * path with the manifest key as the only trusted key, then `nix store verify --sigs-needed 1`
 * and a check that the path is not content-addressed (Nix accepts content-addressed paths with
 * no signature at all). Operators keep one kind of key (`nix key generate-secret`), and the host
 * needs no crypto tool beyond Nix.
 *
 * The store path's hash is derived from the NAR hash and the name, like Nix's makeStorePath with
 * a type of its own ("fleet-manifest"), so every manifest gets its own path and no
 * content-addressed path can have the same one.
 */

export const MANIFEST_FORMAT = 1;
export const MANIFEST_ACTIONS = ['switch', 'boot', 'reboot'] as const;
export type ManifestAction = (typeof MANIFEST_ACTIONS)[number];

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  host: string;
  environment: string;
  /** The toplevel the host must run. */
  system: string;
  /** switch: activate now; boot: activate at the next boot; reboot: boot into it (in the host's reboot window). */
  action: ManifestAction;
  /** auto: a failed switch or health check restores the previous system. */
  rollback: 'auto' | 'off';
  /**
   * `now`: activate as soon as the closure is there, outside the host's activation window too (a
   * security fix). Absent: inside the window. Agents before 1.1.0 ignore it (they have no window).
   */
  activation?: 'now';
  commit: string | null;
  wave: string | null;
  /** Grows with every manifest for the host; a host refuses anything not newer than what it applied. */
  sequence: number;
  /** UTC, whole seconds: `2025-03-01T10:00:00Z`. */
  issuedAt: string;
  expiresAt: string;
}

/** The manifest as published: the signed store object and its signatures. */
export interface SignedManifest {
  manifest: Manifest;
  /** The store path whose content is `content`. */
  storePath: string;
  /** `sha256:<nix32>` of the NAR of `content`. */
  narHash: string;
  narSize: number;
  /** `keyName:base64` signatures of the fingerprint. */
  signatures: string[];
  /** The file in the store path: canonical JSON and a newline. */
  content: string;
  /** The NAR of `content`, as published under `nar/`. */
  nar: Buffer;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$/;
const COMMIT = /^[0-9a-f]{7,64}$/;
/** ISO 8601 UTC in whole seconds: what `date -u -d` on the host parses and what sorts as text. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const STORE_DIR = '/nix/store';

// Every string the host reads is limited to characters that need no JSON escaping: the agent
// reads the verified file with sed, and a value can never contain a quote or a backslash.
export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  host: z.string().regex(NAME, 'must be an inventory host name'),
  environment: z.string().regex(NAME, 'must be an inventory environment name'),
  system: z.string().regex(STORE_PATH, 'must be a store path such as /nix/store/<32-char hash>-nixos-system-…'),
  action: z.enum(MANIFEST_ACTIONS),
  rollback: z.enum(['auto', 'off']),
  activation: z.literal('now').optional(),
  commit: z.string().regex(COMMIT, 'must be a git commit hash').nullable(),
  wave: z.string().regex(NAME, 'must be a wave name').nullable(),
  sequence: z.number().int().positive().max(Number.MAX_SAFE_INTEGER - 1),
  issuedAt: z.string().regex(TIMESTAMP, 'must be a UTC time such as 2025-03-01T10:00:00Z'),
  expiresAt: z.string().regex(TIMESTAMP, 'must be a UTC time such as 2025-03-01T10:00:00Z'),
});

/** Checks a manifest's fields; the message names the first problems. */
export function validateManifest(value: unknown, whence = 'manifest'): Manifest {
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ManifestError(`${whence} is not valid: ${problems.join('; ')}`);
  }
  const manifest = parsed.data as Manifest;
  if (manifest.expiresAt <= manifest.issuedAt) throw new ManifestError(`${whence} is not valid: it expires (${manifest.expiresAt}) before it is issued (${manifest.issuedAt})`);
  return manifest;
}

/** A UTC time in whole seconds, as manifests carry it. */
export function formatTimestamp(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** One line of JSON, keys sorted: the bytes that are signed. */
export function canonicalManifestJson(manifest: Manifest): string {
  const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted);
}

/** The store path name of a manifest: `fleet-manifest-<host>-<sequence>`. */
export function manifestName(manifest: Pick<Manifest, 'host' | 'sequence'>): string {
  return `fleet-manifest-${manifest.host}-${manifest.sequence}`;
}

/** The NAR of a single regular (non-executable) file. */
export function singleFileNar(content: Buffer): Buffer {
  const parts: Buffer[] = [];
  const str = (data: Buffer | string) => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(length, bytes, Buffer.alloc((8 - (bytes.length % 8)) % 8));
  };
  for (const token of ['nix-archive-1', '(', 'type', 'regular', 'contents']) str(token);
  str(content);
  str(')');
  return Buffer.concat(parts);
}

/** Nix's compressHash: XOR-folds a digest to `size` bytes. */
function compressHash(digest: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  digest.forEach((byte, i) => {
    out[i % size] = (out[i % size] as number) ^ byte;
  });
  return out;
}

/** The store path of a manifest NAR: makeStorePath("fleet-manifest", narHash, name). */
export function manifestStorePath(narHash: string, name: string): string {
  const hex = parseHash(narHash, 'sha256').digest.toString('hex');
  const digest = createHash('sha256').update(`fleet-manifest:sha256:${hex}:${STORE_DIR}:${name}`).digest();
  return `${STORE_DIR}/${nix32Encode(compressHash(digest, 20))}-${name}`;
}

/** Builds the store object of a manifest and signs it with every key given (usually one). */
export function signManifest(manifest: Manifest, keys: readonly SigningKey[]): SignedManifest {
  const valid = validateManifest(manifest);
  if (keys.length === 0) throw new ManifestError('a manifest needs a signing key (manifest-signing-key)');
  const content = `${canonicalManifestJson(valid)}\n`;
  const nar = singleFileNar(Buffer.from(content, 'utf8'));
  const narHash = formatNix32Hash({ algorithm: 'sha256', digest: createHash('sha256').update(nar).digest() });
  const storePath = manifestStorePath(narHash, manifestName(valid));
  const print = fingerprint({ storePath, narHash, narSize: nar.length, references: [] });
  return { manifest: valid, storePath, narHash, narSize: nar.length, signatures: keys.map((k) => k.sign(print)), content, nar };
}

/**
 * Rebuilds the signed object from the manifest and checks everything a host checks except
 * freshness: the path matches the content, and one signature is by a trusted key.
 */
export function verifySignedManifest(
  claimed: Pick<SignedManifest, 'manifest' | 'storePath' | 'signatures'>,
  keys: readonly PublicKey[],
  whence = 'manifest',
): Manifest {
  let manifest: Manifest;
  try {
    manifest = validateManifest(claimed.manifest, whence);
  } catch (error) {
    throw new ManifestError(errorMessage(error));
  }
  const content = `${canonicalManifestJson(manifest)}\n`;
  const nar = singleFileNar(Buffer.from(content, 'utf8'));
  const narHash = formatNix32Hash({ algorithm: 'sha256', digest: createHash('sha256').update(nar).digest() });
  const storePath = manifestStorePath(narHash, manifestName(manifest));
  if (storePath !== claimed.storePath) throw new ManifestError(`${whence}: its store path ${claimed.storePath} does not match its content (expected ${storePath})`);
  const print = fingerprint({ storePath, narHash, narSize: nar.length, references: [] });
  if (!verifyAny(print, claimed.signatures, keys)) {
    throw new ManifestError(`${whence}: no signature by a trusted key (${keys.map((k) => k.name).join(', ') || 'none given'})`);
  }
  return manifest;
}
