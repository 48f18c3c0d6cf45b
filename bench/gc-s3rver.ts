/**
 * The s3rver behind bench/gc.ts, in a process of its own (benchGc forks it; it is not run by hand).
 * It must run with --openssl-legacy-provider: s3rver encrypts its ListObjectsV2 continuation tokens
 * with DES, which Node 24's OpenSSL 3 refuses otherwise, so any listing longer than one page (1,000
 * keys) fails with InternalError.
 *
 * Two of s3rver's costs grow with the bucket and would measure s3rver rather than fleet, so this
 * process replaces them (bench/gc.ts samples both as shipped and prints the figures):
 *   - every ListObjectsV2 page walks the bucket again: readdir of each directory, and a stat of every
 *     file up to the continuation key, so a page costs O(objects) and a whole listing O(objects²).
 *     Here the page's keys come from a sorted index of the bucket (built by one walk at the first
 *     listing, kept current by PUT and DELETE); s3rver still reads each listed object's metadata
 *     and renders the page as before. BENCH_GC_STOCK_LISTING=1 keeps s3rver's own walk.
 *   - after deleting a key, s3rver reads its whole directory to see whether it is empty (nar/ holds
 *     three files per NAR, so each NAR deleted costs a readdir of the nar/ directory). Here rmdir is
 *     tried instead and ENOTEMPTY stops it: the same result.
 *
 * Messages: it sends `{ type: 'ready', … }` with the S3 handle's fields; on `{ type: 'stop' }` or
 * when the parent goes away it stops s3rver (which removes its directory) and exits.
 */
import { readdir, rmdir, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startS3rver } from '../test/support/servers/index.js';

interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}
interface ListResult {
  objects: unknown[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  putObject(object: { bucket: string; key: string }): Promise<unknown>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, metadata?: unknown): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
type S3ObjectClass = new (bucket: string, key: string, content: null, metadata: Record<string, unknown>) => unknown;

const require = createRequire(import.meta.url);
const store = (require('s3rver/lib/stores/filesystem.js') as { prototype: FilesystemStore }).prototype;
const S3Object = require('s3rver/lib/models/object.js') as S3ObjectClass;
const OBJECT_SUFFIX = '._S3rver_object';

/** Keys of each bucket directory; `sorted` is dropped by writes and rebuilt by the next listing. */
const indexes = new Map<string, { keys: Set<string>; sorted?: string[] }>();

async function walkKeys(bucketPath: string, dir = bucketPath, keys = new Set<string>()): Promise<Set<string>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walkKeys(bucketPath, path, keys);
    else if (entry.name.endsWith(OBJECT_SUFFIX)) keys.add(path.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length));
  }
  return keys;
}

function firstAfter(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as string) <= key) low = mid + 1;
    else high = mid;
  }
  return low;
}

function patchStore(): void {
  const stockList = store.listObjects;
  const stockPut = store.putObject;
  const stockCopy = store.copyObject;
  const touched = (self: FilesystemStore, bucket: string) => indexes.get(self.getBucketPath(bucket));

  if (process.env.BENCH_GC_STOCK_LISTING !== '1') {
    store.listObjects = async function (this: FilesystemStore, bucket, options) {
      // Our store never lists with a delimiter; s3rver's own walk serves that case as shipped.
      if (options.delimiter) return stockList.call(this, bucket, options);
      const { startAfter = '', prefix = '', maxKeys = Infinity } = options;
      const bucketPath = this.getBucketPath(bucket);
      let index = indexes.get(bucketPath);
      if (!index) indexes.set(bucketPath, (index = { keys: await walkKeys(bucketPath) }));
      const sorted = (index.sorted ??= [...index.keys].sort());
      const keys: string[] = [];
      let isTruncated = false;
      for (let i = firstAfter(sorted, startAfter > prefix ? startAfter : prefix.slice(0, -1)); i < sorted.length; i++) {
        const key = sorted[i] as string;
        if (key <= startAfter || key < prefix) continue;
        if (!key.startsWith(prefix)) break;
        if (keys.length === maxKeys) {
          isTruncated = true;
          break;
        }
        keys.push(key);
      }
      const metadata = await Promise.all(keys.map((key) => this.getMetadata(bucket, key).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)))));
      return {
        objects: keys.flatMap((key, i) => (metadata[i] ? [new S3Object(bucket, key, null, metadata[i])] : [])),
        commonPrefixes: [],
        isTruncated,
      };
    };
  }
  store.putObject = async function (this: FilesystemStore, object) {
    const result = await stockPut.call(this, object);
    const index = touched(this, object.bucket);
    if (index && !index.keys.has(object.key)) {
      index.keys.add(object.key);
      delete index.sorted;
    }
    return result;
  };
  store.copyObject = async function (this: FilesystemStore, srcBucket, srcKey, destBucket, destKey, metadata) {
    const result = await stockCopy.call(this, srcBucket, srcKey, destBucket, destKey, metadata);
    const index = touched(this, destBucket);
    if (index && !index.keys.has(destKey)) {
      index.keys.add(destKey);
      delete index.sorted;
    }
    return result;
  };
  store.deleteObject = async function (this: FilesystemStore, bucket, key) {
    const files = ['object', 'object.md5', 'metadata.json'].map((resource) => this.getResourcePath(bucket, key, resource));
    await Promise.all(files.map((file) => unlink(file).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)))));
    const bucketPath = this.getBucketPath(bucket);
    const parts = key.split('/').slice(0, -1);
    // s3rver removes the directories the key leaves empty; rmdir fails on a non-empty one, which ends it.
    for (; parts.length > 0; parts.pop()) {
      try {
        await rmdir(join(bucketPath, ...parts));
      } catch (error) {
        if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '')) break;
        throw error;
      }
    }
    const index = touched(this, bucket);
    if (index?.keys.delete(key)) delete index.sorted;
  };
}

patchStore();
const s3 = await startS3rver({ bucket: process.env.BENCH_GC_BUCKET ?? 'nix-cache' });
let stopping: Promise<void> | undefined;
const stop = (): Promise<void> =>
  (stopping ??= s3.stop().then(() => {
    if (process.connected) process.send?.({ type: 'stopped' }, () => process.exit(0));
    else process.exit(0);
  }));
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.send?.({
  type: 'ready',
  endpoint: s3.endpoint,
  bucket: s3.bucket,
  cacheUrl: s3.cacheUrl,
  credentials: s3.credentials,
  directory: s3.directory,
  stockListing: process.env.BENCH_GC_STOCK_LISTING === '1',
});
