import type { Readable } from 'node:stream';

/** How `get` reads "missing". */
export interface GetOptions {
  /**
   * Only "not found" (404, NoSuchKey, ENOENT) is missing; a refusal (403) throws. For objects whose
   * absence changes what is written next (a manifest pointer: missing means "start at sequence 1").
   */
  notFoundOnly?: boolean;
}

/** An object's body and its store-side modification time (S3 LastModified, HTTP Last-Modified, file mtime). */
export interface DatedObject {
  body: Buffer;
  modifiedAt?: Date;
}

/** A listed object: its key, and where the store tells them its size and last write. */
export interface StoreObject {
  key: string;
  size?: number;
  modifiedAt?: Date;
}

/** A body to stream; a factory lets a store retry the upload in place by making it again. */
export type StreamBody = Readable | (() => Readable);

/**
 * One binary cache (or manifest/status store) addressed by keys relative to its root:
 * `nix-cache-info`, `<hashPart>.narinfo`, `nar/<name>.nar.zst`, `fleet/<env>/<host>.json`.
 * Implementations retry transient faults themselves (5xx, 429, SlowDown, dropped connections).
 */
export interface BinaryCacheStore {
  /** Where it points, for messages; never carries credentials. */
  readonly url: string;
  /** Whether the object exists. A 403 and a 404 both mean "missing". */
  has(key: string): Promise<boolean>;
  /**
   * A small object (narinfo, nix-cache-info, manifest), or undefined when missing. A 403 counts as
   * missing too (S3 answers it for a missing key when the role may not list the bucket), unless
   * `notFoundOnly`.
   */
  get(key: string, options?: GetOptions): Promise<Buffer | undefined>;
  /** `get`, with the time the store says the object was last written, where it keeps one. */
  getWithDate(key: string, options?: GetOptions): Promise<DatedObject | undefined>;
  /** Writes a small object whole. */
  put(key: string, body: Buffer | string, contentType: string): Promise<void>;
  /**
   * Streams an object of unknown size (a compressed NAR). Large bodies go up in parts; memory
   * stays bounded. The object is visible only once complete (no half-written object).
   */
  putStream(key: string, body: StreamBody, contentType: string): Promise<{ bytes: number }>;
  /** Lists keys under a prefix (status reports, manifests), sorted. */
  list(prefix: string): Promise<string[]>;
  /** `list`, with each object's size and last write where the store keeps them (for garbage collection). */
  listObjects(prefix: string): Promise<StoreObject[]>;
  /** Deletes one object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes many objects, in as few requests as the store allows; missing ones are not an error. */
  deleteMany(keys: readonly string[]): Promise<void>;
}
