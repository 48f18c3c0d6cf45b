import type { PathInfo } from '../nix/path-info.js';
import { errorMessage } from '../util/errors.js';
import { fingerprint, narInfoKey, normalizeSha256, parseNarInfo, type NarInfo } from './narinfo.js';
import { verifyAny, type SigningKey } from './signing.js';
import type { BinaryCacheStore } from './store.js';
import { keyProblem } from './stores/keys.js';

/**
 * `verify-cache`: what to do with a path whose narinfo the cache already holds. A narinfo alone
 * does not make a path fetchable: its NAR must be there too, and with `require-sigs` (Nix's
 * default) it must carry a signature the hosts trust, which for the paths we push is ours.
 */

export type RepairReason = 'nar-missing' | 'narinfo-unreadable' | 'narinfo-mismatch' | 'unsigned';

/** How the summary and the manifest name each repair. */
export const REPAIR_LABELS: Record<RepairReason, string> = {
  'nar-missing': 'NAR missing, re-pushed',
  'narinfo-unreadable': 'narinfo unreadable, re-pushed',
  'narinfo-mismatch': 'narinfo disagrees with the local path, re-pushed',
  unsigned: 're-signed',
};

/** The local store's word on a path (`nix path-info --json`). */
export type LocalPath = Pick<PathInfo, 'path' | 'narHash' | 'narSize' | 'references'>;

export type EntryVerdict =
  | { action: 'keep' }
  /** Upload the NAR again and write a fresh narinfo. */
  | { action: 'repush'; reason: Exclude<RepairReason, 'unsigned'>; detail: string }
  /** The NAR is there and matches the local path: write this narinfo, our signature added. */
  | { action: 'resign'; reason: 'unsigned'; detail: string; narInfo: NarInfo };

export type CachedNarInfo = { ok: true; narInfo: NarInfo } | { ok: false; problem: string };

/** Parses a narinfo found in the cache for `local`, or says why it cannot be used. */
export function readCachedNarInfo(text: Buffer | string, local: LocalPath): CachedNarInfo {
  let narInfo: NarInfo;
  try {
    narInfo = parseNarInfo(text.toString(), narInfoKey(local.path));
  } catch (error) {
    return { ok: false, problem: errorMessage(error) };
  }
  if (narInfo.storePath !== local.path) return { ok: false, problem: `it describes ${narInfo.storePath}` };
  // A NAR elsewhere (an absolute URL, a path out of the cache root) cannot be checked here.
  const urlProblem = keyProblem(narInfo.url);
  if (urlProblem) return { ok: false, problem: `its URL ${JSON.stringify(narInfo.url)} is not an object of this cache (${urlProblem})` };
  return { ok: true, narInfo };
}

/**
 * Judges a readable narinfo. Without a key only the NAR's presence is checked. With one, an entry
 * signed by it is kept as it is (it is consistent, whatever the local build says); an entry that
 * is not is re-signed only if it describes exactly the local path, since our signature vouches
 * for its NarHash, NarSize and references; otherwise the local path replaces it.
 */
export function judgeCachedEntry(narInfo: NarInfo, local: LocalPath, narPresent: boolean, key: SigningKey | undefined): EntryVerdict {
  if (!narPresent) return { action: 'repush', reason: 'nar-missing', detail: `${narInfo.url} is not in the cache` };
  if (!key) return { action: 'keep' };
  const signed = fingerprint(narInfo);
  if (verifyAny(signed, narInfo.sigs, [key.publicKey])) return { action: 'keep' };
  const disagreement = disagreementWithLocal(narInfo, local);
  if (disagreement) return { action: 'repush', reason: 'narinfo-mismatch', detail: disagreement };
  const others = narInfo.sigs.filter((sig) => isWellFormedSignature(sig) && !sig.startsWith(`${key.name}:`));
  const signers = [...new Set(narInfo.sigs.map((sig) => sig.slice(0, Math.max(0, sig.indexOf(':')))).filter(Boolean))];
  return {
    action: 'resign',
    reason: 'unsigned',
    detail: `no valid signature by ${key.name} (${signers.length > 0 ? `signed by ${signers.join(', ')}` : 'unsigned'})`,
    narInfo: { ...narInfo, sigs: [...others, key.sign(signed)] },
  };
}

/** Fetches and judges the cache's entry for `local`; `absent` when it has no narinfo. */
export async function verifyCacheEntry(store: BinaryCacheStore, local: LocalPath, key: SigningKey | undefined): Promise<EntryVerdict | { action: 'absent' }> {
  const text = await store.get(narInfoKey(local.path));
  if (text === undefined) return { action: 'absent' };
  const cached = readCachedNarInfo(text, local);
  if (!cached.ok) return { action: 'repush', reason: 'narinfo-unreadable', detail: cached.problem };
  return judgeCachedEntry(cached.narInfo, local, await store.has(cached.narInfo.url), key);
}

function disagreementWithLocal(narInfo: NarInfo, local: LocalPath): string | undefined {
  const localHash = normalizeSha256(local.narHash);
  if (narInfo.narHash !== localHash) return `its NarHash ${narInfo.narHash} is not the local ${localHash}`;
  if (narInfo.narSize !== local.narSize) return `its NarSize ${narInfo.narSize} is not the local ${local.narSize}`;
  const cachedRefs = [...new Set(narInfo.references)].sort().join(' ');
  const localRefs = [...new Set(local.references)].sort().join(' ');
  if (cachedRefs !== localRefs) return 'its references are not the local ones';
  return undefined;
}

/** `name:base64` of 64 bytes: what a signature can be. Other lines are dropped on rewrite. */
function isWellFormedSignature(sig: string): boolean {
  const match = /^([^:\s]+):([A-Za-z0-9+/]+={0,2})$/.exec(sig);
  return match !== null && Buffer.from(match[2] as string, 'base64').length === 64;
}
