import { ensureCacheInfo } from '../../cache/cache-info.js';
import { NAR_CONTENT_TYPE, narObjectKey } from '../../cache/nar-upload.js';
import { narInfoKey, renderNarInfo } from '../../cache/narinfo.js';
import type { PublicKey, SigningKey } from '../../cache/signing.js';
import type { BinaryCacheStore } from '../../cache/store.js';
import { StoreError } from '../../cache/stores/store-error.js';
import { systemClock, type Clock } from '../../util/async.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import { formatTimestamp, ManifestError, signManifest, verifySignedManifest, type Manifest, type ManifestAction, type SignedManifest } from './manifest.js';
import { manifestPointerKey, parsePointer, renderPointer } from './pointer.js';

export const DEFAULT_MANIFEST_LIFETIME_MS = 30 * 86_400_000;
/**
 * The longest a manifest may stay valid: a host offline longer needs a new deploy anyway, and a
 * manifest that never expires would let a stolen old one be replayed forever.
 */
export const MANIFEST_LIFETIME_MAX = '90d';
export const MANIFEST_LIFETIME_MIN = '1m';

export interface ManifestRequest {
  host: string;
  environment: string;
  system: string;
  action?: ManifestAction;
  rollback?: 'auto' | 'off';
  /** Activate outside the host's activation window too. */
  activateNow?: boolean;
  commit?: string | null;
  wave?: string | null;
  /** How long hosts accept the manifest (default 30 days): a host offline longer needs a new deploy. */
  lifetimeMs?: number;
}

export interface PublishOptions {
  store: BinaryCacheStore;
  signingKey: SigningKey;
  /** Keys a previous manifest may be signed by (rotation); the signing key's public half always counts. */
  previousKeys?: readonly PublicKey[];
  clock?: Clock;
  log?: Log;
}

/** What the store held for the host before this manifest. */
export interface PreviousManifest {
  sequence: number;
  storePath: string;
  system?: string;
  /** Its signature checked out with our keys; an unverified pointer still never lowers the sequence. */
  verified: boolean;
}

export interface PublishedManifest extends SignedManifest {
  /** `fleet/<environment>/<host>.json`. */
  pointerKey: string;
  previous?: PreviousManifest;
}

/**
 * Reads the host's current pointer; undefined when the host has none yet. Only "not found" means
 * none: a pointer we may not read would restart the sequence at 1, and every agent refuses that.
 */
export async function readPreviousManifest(store: BinaryCacheStore, environment: string, host: string, keys: readonly PublicKey[]): Promise<PreviousManifest | undefined> {
  const key = manifestPointerKey(environment, host);
  // The object, not the store: `s3://bucket/fleet/…`, without the store URL's `?region=…`.
  const whence = `${store.url.replace(/\?.*$/, '')}/${key}`;
  let body: Buffer | undefined;
  try {
    body = await store.get(key, { notFoundOnly: true });
  } catch (error) {
    throw new ManifestError(
      `cannot read the current manifest pointer ${whence} (${error instanceof StoreError ? error.summary : errorMessage(error)}), so the next sequence is unknown ` +
        `(starting again at 1 would make the host refuse the manifest). The deploying credentials need read access to ${key} ` +
        `(on S3: s3:GetObject on it, and s3:ListBucket on the bucket so that a missing pointer answers 404, not 403)`,
    );
  }
  if (body === undefined) return undefined;
  // A pointer we cannot read leaves no safe next sequence: guessing low would make hosts refuse
  // every later manifest, so the operator decides.
  const pointer = parsePointer(body, whence);
  const claimed = pointer.manifest as { sequence?: unknown; system?: unknown } | null;
  const sequence = typeof claimed === 'object' && claimed !== null ? claimed.sequence : undefined;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw new ManifestError(`${whence} has no valid manifest sequence; check it (or delete it if the host should start over from sequence 1)`);
  }
  try {
    const manifest = verifySignedManifest({ manifest: pointer.manifest as Manifest, storePath: pointer.storePath, signatures: pointer.signatures }, keys, whence);
    return { sequence: manifest.sequence, storePath: pointer.storePath, system: manifest.system, verified: true };
  } catch {
    return { sequence, storePath: pointer.storePath, ...(typeof claimed?.system === 'string' ? { system: claimed.system } : {}), verified: false };
  }
}

/**
 * Publishes the next manifest of one host: reads the current sequence from the store, signs
 * sequence + 1, then writes the NAR, its narinfo and last the pointer, so a host that sees the
 * pointer can always fetch what it points to. The store must already have `nix-cache-info`
 * (`prepareManifestStore`).
 */
export async function publishManifest(request: ManifestRequest, options: PublishOptions): Promise<PublishedManifest> {
  const { store, signingKey } = options;
  const pointerKey = manifestPointerKey(request.environment, request.host);
  const keys = [signingKey.publicKey, ...(options.previousKeys ?? [])];
  const previous = await readPreviousManifest(store, request.environment, request.host, keys);
  if (previous && !previous.verified) {
    options.log?.warning(
      `${store.url}/${pointerKey}: the current manifest (sequence ${previous.sequence}) is not signed by ${keys.map((k) => k.name).join(', ')}; continuing from its sequence`,
    );
  }
  const sequence = (previous?.sequence ?? 0) + 1;
  if (!Number.isSafeInteger(sequence + 1)) throw new ManifestError(`${store.url}/${pointerKey}: sequence ${previous?.sequence} cannot grow any further`);
  const now = (options.clock ?? systemClock).now();
  const lifetimeMs = request.lifetimeMs ?? DEFAULT_MANIFEST_LIFETIME_MS;
  if (!(lifetimeMs >= parseDuration(MANIFEST_LIFETIME_MIN))) throw new ManifestError(`manifest lifetime ${lifetimeMs} ms is shorter than the minimum ${MANIFEST_LIFETIME_MIN} (example: 30d)`);
  if (lifetimeMs > parseDuration(MANIFEST_LIFETIME_MAX)) throw new ManifestError(`manifest lifetime ${formatDuration(lifetimeMs)} is longer than the maximum ${MANIFEST_LIFETIME_MAX} (example: 30d)`);
  const manifest: Manifest = {
    format: 1,
    host: request.host,
    environment: request.environment,
    system: request.system,
    action: request.action ?? 'switch',
    rollback: request.rollback ?? 'auto',
    ...(request.activateNow ? { activation: 'now' as const } : {}),
    commit: request.commit ?? null,
    wave: request.wave ?? null,
    sequence,
    issuedAt: formatTimestamp(now),
    expiresAt: formatTimestamp(new Date(now.getTime() + lifetimeMs)),
  };
  const signed = signManifest(manifest, [signingKey]);
  const narKey = narObjectKey(signed.narHash, { method: 'none' });
  try {
    await store.put(narKey, signed.nar, NAR_CONTENT_TYPE);
    const narinfo = renderNarInfo({
      storePath: signed.storePath,
      url: narKey,
      compression: 'none',
      fileHash: signed.narHash,
      fileSize: signed.narSize,
      narHash: signed.narHash,
      narSize: signed.narSize,
      references: [],
      sigs: signed.signatures,
    });
    await store.put(narInfoKey(signed.storePath), narinfo, 'text/x-nix-narinfo');
    await store.put(pointerKey, renderPointer(signed), 'application/json');
  } catch (error) {
    throw new ManifestError(`could not publish the manifest of ${request.host} to ${store.url}: ${errorMessage(error)}`);
  }
  options.log?.info(`${request.host}: manifest ${sequence} published (${signed.storePath}) → ${request.system}`);
  return { ...signed, pointerKey, ...(previous ? { previous } : {}) };
}

/** Makes the store usable as a substituter for the manifests (writes `nix-cache-info` when absent). */
export async function prepareManifestStore(store: BinaryCacheStore): Promise<void> {
  await ensureCacheInfo(store);
}
