import { UserError } from '../util/errors.js';
import type { Log } from '../util/log.js';
import type { RetryPolicy } from './retry.js';
import type { BinaryCacheStore } from './store.js';
import { parseCacheUrl, type CacheUrl } from './stores/cache-url.js';
import { FileBinaryCacheStore } from './stores/file.js';
import { HttpBinaryCacheStore, type HttpAuth } from './stores/http.js';
import type { StreamBody } from './stores/stream-body.js';
import { S3BinaryCacheStore, type S3Credentials, type S3StoreOptions } from './stores/s3.js';

export { parseCacheUrl, redactUrl, type CacheUrl, type StoreParams } from './stores/cache-url.js';
export type { StreamBody } from './stores/stream-body.js';

export interface OpenStoreOptions {
  /** For s3:// caches: an SDK credentials provider (OIDC/STS); without it the SDK's default chain. */
  credentials?: S3Credentials;
  /** For http(s):// caches: overrides `user:password@` in the URL. */
  auth?: HttpAuth;
  log?: Log;
  /** Connections kept open to the cache (default: 32 for HTTP, 48 for S3). */
  maxSockets?: number;
  /** Attempts and backoff per request (defaults: 6 attempts over HTTP, 8 for S3; 200 ms base, 20 s cap). */
  retry?: Partial<RetryPolicy>;
  s3?: Pick<S3StoreOptions, 'partSizeBytes' | 'queueSize' | 'client'>;
  /** Where `AWS_ENDPOINT_URL_S3` is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * A store opened by `openStore`. `putStream` also takes a factory that re-creates the body, which
 * lets the store retry a failed upload in place (see `StreamBody`); `close()` releases kept-alive
 * connections.
 */
export interface OpenedStore extends BinaryCacheStore {
  putStream(key: string, body: StreamBody, contentType: string): Promise<{ bytes: number }>;
  close(): Promise<void>;
}

/**
 * Opens the binary cache a URL names: `file:///dir`, `http(s)://host/path`,
 * `s3://bucket[/prefix]?region=…&endpoint=…&scheme=…&profile=…`. SSH URLs are not binary caches
 * we write: check `parseCacheUrl(url).kind === 'nix-copy'` first and hand them to `nix copy`.
 */
export function openStore(url: string | CacheUrl, options: OpenStoreOptions = {}): OpenedStore {
  const parsed = typeof url === 'string' ? parseCacheUrl(url, options.env) : url;
  switch (parsed.kind) {
    case 'file':
      return new FileBinaryCacheStore(parsed.directory, { log: options.log });
    case 'http':
      return new HttpBinaryCacheStore(parsed.url, {
        log: options.log,
        ...(options.auth ?? parsed.auth ? { auth: options.auth ?? parsed.auth } : {}),
        ...(options.maxSockets ? { maxSockets: options.maxSockets } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      });
    case 's3':
      return new S3BinaryCacheStore(parsed.location, {
        ...options.s3,
        log: options.log,
        ...(options.retry ? { retry: options.retry } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.maxSockets ? { maxSockets: options.maxSockets } : {}),
      });
    case 'nix-copy':
      throw new UserError(`${parsed.url} is an SSH store: it is reached with nix copy, not opened as a binary cache (check parseCacheUrl(url).kind === 'nix-copy' first)`);
  }
}
