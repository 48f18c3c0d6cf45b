import { z } from 'zod';
import { STATUS_PREFIX } from '../../fleet/status.js';
import { errorMessage } from '../../util/errors.js';
import { ManifestError, NAME, STORE_PATH, type SignedManifest } from './manifest.js';

/**
 * Layout of the pull-mode objects in a cache store (see README.md beside this file):
 *
 *   fleet/<environment>/<host>.json    the pointer: which manifest store path the host must apply
 *   <hashPart>.narinfo, nar/<…>.nar    the manifest itself, a signed store object
 *   fleet/status/<host>.json           the host's status report (src/fleet/status.ts)
 */
export const POINTER_FORMAT = 1;
export const MANIFEST_ROOT = 'fleet/';

/** The pointer document at `fleet/<environment>/<host>.json`. */
export interface ManifestPointer {
  format: typeof POINTER_FORMAT;
  storePath: string;
  narHash: string;
  narSize: number;
  signatures: string[];
  /** A copy of the signed manifest for people and tools; hosts only trust the store object. */
  manifest: unknown;
}

const pointerSchema = z.object({
  format: z.literal(POINTER_FORMAT),
  storePath: z.string().regex(STORE_PATH, 'must be a store path'),
  narHash: z.string().min(1),
  narSize: z.number().int().positive(),
  signatures: z.array(z.string()),
  manifest: z.unknown(),
});

/** `fleet/<environment>/<host>.json`. The environment `status` is taken by the status reports. */
export function manifestPointerKey(environment: string, host: string): string {
  if (!NAME.test(environment)) throw new ManifestError(`environment "${environment}" cannot name a manifest directory (use letters, digits, ".", "_" or "-")`);
  if (!NAME.test(host)) throw new ManifestError(`host "${host}" cannot name a manifest (use letters, digits, ".", "_" or "-")`);
  if (`${MANIFEST_ROOT}${environment}/` === STATUS_PREFIX) {
    throw new ManifestError(`environment "status" cannot hold pull hosts: fleet/status/ holds the hosts' status reports`);
  }
  return `${MANIFEST_ROOT}${environment}/${host}.json`;
}

/** The pointer as written: pretty JSON, for people reading the bucket. */
export function renderPointer(signed: SignedManifest): string {
  const pointer: ManifestPointer = {
    format: POINTER_FORMAT,
    storePath: signed.storePath,
    narHash: signed.narHash,
    narSize: signed.narSize,
    signatures: signed.signatures,
    manifest: signed.manifest,
  };
  return `${JSON.stringify(pointer, null, 2)}\n`;
}

export function parsePointer(text: string | Buffer, whence: string): ManifestPointer {
  let document: unknown;
  try {
    document = JSON.parse(text.toString());
  } catch (error) {
    throw new ManifestError(`${whence} is not valid JSON: ${errorMessage(error)}`);
  }
  const parsed = pointerSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ManifestError(`${whence} is not a manifest pointer: ${problems.join('; ')}`);
  }
  return parsed.data as ManifestPointer;
}
