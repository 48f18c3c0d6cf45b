import type { OutgoingHttpHeaders } from 'node:http';
import { mapConcurrent } from '../../util/async.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import { proxyFor, redactProxyUrl } from '../../util/proxy.js';
import { isRetryableStatus, isTransientError, withRetry, type RetryPolicy } from '../retry.js';
import type { BinaryCacheStore, DatedObject, GetOptions, StoreObject } from '../store.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from './http-transport.js';
import { assertValidKey, assertValidPrefix, encodeKeyPath, sortedByKey } from './keys.js';
import { parseRetryAfter, StoreError } from './store-error.js';
import { countedBody, isReplayable, type StreamBody } from './stream-body.js';

export type HttpAuth = { username: string; password: string } | { bearerToken: string };

export interface HttpStoreOptions {
  log?: Log;
  /** Overrides `user:password@` in the URL. */
  auth?: HttpAuth;
  /** Connections kept open to the cache (default 32, the push's uploads in flight). */
  maxSockets?: number;
  /** A request fails when the server stays silent this long (default 60 s). */
  idleTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

/** An entry of nginx's `autoindex_format json` listing. */
interface ListingEntry {
  name: string;
  type: string;
  /** An HTTP date, e.g. `Wed, 02 Dec 2026 10:00:00 GMT`. */
  mtime?: string;
  size?: number;
}

/**
 * A binary cache served over HTTP(S) by a server that takes PUT and DELETE: nginx with
 * `dav_methods PUT DELETE; create_full_put_path on; client_max_body_size 0;` and, for `list`,
 * `autoindex on; autoindex_format json;`. It is also what `nix copy --to http://…` pushes to.
 *
 * Retries: small objects (Buffers) are retried on overload and dropped connections. A streamed
 * body is retried only when `putStream` gets a factory that re-creates it; a plain Readable is
 * sent once and a failure fails that key with a retryable StoreError. The server stores a PUT
 * only once its body is complete (nginx writes to a temp file and renames), so nothing
 * half-written stays behind and the push's re-run uploads the key again.
 */
export class HttpBinaryCacheStore implements BinaryCacheStore {
  /** The cache's address without credentials or query parameters. */
  readonly url: string;
  private readonly base: URL;
  private readonly headers: OutgoingHttpHeaders;
  private readonly transport: HttpTransport;
  private readonly log: Log | undefined;
  private readonly retry: Partial<RetryPolicy>;
  /** Set once the server answers HEAD with 405/501: existence checks then use GET. */
  private headRefused = false;

  constructor(url: string | URL, options: HttpStoreOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new StoreError(`${parsed.protocol}// is not an HTTP cache URL`, { hint: 'Use http://host/path or https://host/path' });
    }
    const auth = options.auth ?? authFromUrl(parsed);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
    this.base = parsed;
    this.url = parsed.pathname === '/' ? parsed.origin : `${parsed.origin}${parsed.pathname.slice(0, -1)}`;
    this.log = options.log;
    this.retry = options.retry ?? {};
    this.headers = { 'user-agent': 'fleet-cache' };
    if (auth) {
      const value = 'bearerToken' in auth ? `Bearer ${auth.bearerToken}` : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      this.log?.secret('bearerToken' in auth ? auth.bearerToken : auth.password);
      this.log?.secret(value);
      this.headers.authorization = value;
    }
    this.transport = new HttpTransport({ maxSockets: options.maxSockets ?? 32, idleTimeoutMs: options.idleTimeoutMs ?? 60_000 });
  }

  async has(key: string): Promise<boolean> {
    const target = this.objectUrl(key);
    return withRetry(async () => {
      if (!this.headRefused) {
        const res = await this.send('HEAD', key, target, {});
        if (res.status !== 405 && res.status !== 501) return this.existence('HEAD', key, res);
        this.headRefused = true;
        this.log?.debug(`${this.url} refuses HEAD (HTTP ${res.status}); checking objects with GET`);
      }
      return this.existence('GET', key, await this.send('GET', key, target, { headersOnly: true }));
    }, this.retryOptions(`HEAD ${this.display(key)}`));
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer | undefined> {
    return (await this.getWithDate(key, options))?.body;
  }

  async getWithDate(key: string, options: GetOptions = {}): Promise<DatedObject | undefined> {
    const target = this.objectUrl(key);
    return withRetry(async () => {
      const res = await this.send('GET', key, target, {});
      if (options.notFoundOnly ? isNotFoundStatus(res.status) : isMissingStatus(res.status)) return undefined;
      if (res.status >= 200 && res.status < 300) return { body: res.body, ...lastModified(res.headers['last-modified']) };
      throw this.statusError('GET', key, res);
    }, this.retryOptions(`GET ${this.display(key)}`));
  }

  async put(key: string, body: Buffer | string, contentType: string): Promise<void> {
    const target = this.objectUrl(key);
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    await withRetry(async () => {
      const res = await this.send('PUT', key, target, {
        headers: { 'content-type': contentType, 'content-length': data.length },
        body: data,
      });
      if (res.status < 200 || res.status >= 300) throw this.statusError('PUT', key, res);
    }, this.retryOptions(`PUT ${this.display(key)}`));
  }

  async putStream(key: string, body: StreamBody, contentType: string): Promise<{ bytes: number }> {
    const target = this.objectUrl(key);
    const attempt = async (): Promise<{ bytes: number }> => {
      const counted = countedBody(body);
      try {
        const res = await this.send('PUT', key, target, { headers: { 'content-type': contentType }, body: counted.stream });
        if (res.status < 200 || res.status >= 300) throw this.statusError('PUT', key, res);
        return { bytes: counted.stream.bytes };
      } catch (error) {
        counted.stop();
        const sourceError = counted.sourceError();
        if (sourceError !== undefined) {
          throw new StoreError(`Could not upload ${this.display(key)}: the data being uploaded failed: ${errorMessage(sourceError)}`, { url: this.display(key), key, cause: sourceError });
        }
        throw error;
      }
    };
    if (isReplayable(body)) return withRetry(attempt, this.retryOptions(`PUT ${this.display(key)}`));
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof StoreError && !error.retryable) throw error;
      if (!isTransientError(error)) throw error;
      throw new StoreError(`Upload of ${this.display(key)} was interrupted: ${error instanceof StoreError ? error.summary : errorMessage(error)}`, {
        url: this.display(key),
        key,
        retryable: true,
        hint: 'A streamed body cannot be replayed, so this object was not stored; re-run the push (objects already in the cache are skipped)',
        cause: error,
      });
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  async listObjects(prefix: string): Promise<StoreObject[]> {
    assertValidPrefix(prefix, this.url);
    const slash = prefix.lastIndexOf('/');
    const objects: StoreObject[] = [];
    await this.walk(slash < 0 ? '' : prefix.slice(0, slash), prefix.slice(slash + 1), objects);
    return sortedByKey(objects);
  }

  async delete(key: string): Promise<void> {
    const target = this.objectUrl(key);
    await withRetry(async () => {
      const res = await this.send('DELETE', key, target, {});
      if ((res.status < 200 || res.status >= 300) && res.status !== 404) throw this.statusError('DELETE', key, res);
    }, this.retryOptions(`DELETE ${this.display(key)}`));
  }

  /** WebDAV has no batch delete: one DELETE per key, 16 at a time. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    await mapConcurrent(keys, 16, (key) => this.delete(key));
  }

  /** Closes idle keep-alive connections. */
  async close(): Promise<void> {
    this.transport.close();
  }

  private async walk(dirKey: string, namePrefix: string, into: StoreObject[]): Promise<void> {
    const dirUrl = dirKey ? new URL(`${encodeKeyPath(dirKey)}/`, this.base) : this.base;
    const shown = `${this.url}/${dirKey ? `${dirKey}/` : ''}`;
    const entries = await withRetry(async () => {
      const res = await this.send('GET', dirKey || '/', dirUrl, { headers: { accept: 'application/json' } });
      if (res.status === 404) return [];
      if (res.status < 200 || res.status >= 300) throw this.statusError('LIST', dirKey ? `${dirKey}/` : '', res);
      return parseListing(res, shown);
    }, this.retryOptions(`GET ${shown}`));
    const children = entries.filter((e) => e.name.startsWith(namePrefix) && !e.name.includes('/'));
    for (const entry of children) {
      if (entry.type !== 'file') continue;
      const modifiedAt = entry.mtime ? new Date(entry.mtime) : undefined;
      into.push({
        key: dirKey ? `${dirKey}/${entry.name}` : entry.name,
        ...(typeof entry.size === 'number' ? { size: entry.size } : {}),
        ...(modifiedAt && !Number.isNaN(modifiedAt.getTime()) ? { modifiedAt } : {}),
      });
    }
    const dirs = children.filter((e) => e.type === 'directory');
    await mapConcurrent(dirs, 4, (entry) => this.walk(dirKey ? `${dirKey}/${entry.name}` : entry.name, '', into));
  }

  private async send(method: string, key: string, target: URL, request: Omit<HttpRequest, 'method'>): Promise<HttpResponse> {
    try {
      return await this.transport.request(target, { ...request, method, headers: { ...this.headers, ...request.headers } });
    } catch (error) {
      throw this.networkError(method, key, error);
    }
  }

  private existence(method: string, key: string, res: HttpResponse): boolean {
    if (res.status >= 200 && res.status < 300) return true;
    if (isMissingStatus(res.status)) return false;
    throw this.statusError(method, key, res);
  }

  private objectUrl(key: string): URL {
    assertValidKey(key, this.url);
    return new URL(encodeKeyPath(key), this.base);
  }

  private display(key: string): string {
    return `${this.url}/${key}`;
  }

  private retryOptions(what: string): { what: string; log?: Log } & Partial<RetryPolicy> {
    return { ...this.retry, what, log: this.log };
  }

  private networkError(method: string, key: string, error: unknown): Error {
    if (error instanceof StoreError) return error;
    const code = (error as { code?: unknown }).code;
    const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH';
    return new StoreError(`${method} ${this.display(key)} failed: ${errorMessage(error)}`, {
      url: this.display(key),
      key,
      retryable: isTransientError(error),
      hint: refused ? `Check that the cache server at ${this.base.host} is running and reachable from this machine` : undefined,
      cause: error,
    });
  }

  private statusError(method: string, key: string, res: HttpResponse): StoreError {
    const retryAfter = res.headers['retry-after'];
    return new StoreError(`${method} ${this.display(key)} failed: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, {
      url: this.display(key),
      key,
      status: res.status,
      retryable: isRetryableStatus(res.status),
      retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      hint: statusHint(method, res.status, proxyFor(this.base)),
    });
  }
}

function authFromUrl(url: URL): HttpAuth | undefined {
  if (!url.username && !url.password) return undefined;
  return { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/** S3-style servers answer 403 for a missing key when listing is not allowed. */
function isMissingStatus(status: number): boolean {
  return isNotFoundStatus(status) || status === 403;
}

function isNotFoundStatus(status: number): boolean {
  return status === 404 || status === 410;
}

function parseListing(res: HttpResponse, shown: string): ListingEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((e) => typeof e?.name === 'string' && typeof e?.type === 'string')) {
    throw new StoreError(`${shown} did not return a JSON directory listing`, {
      url: shown,
      hint: 'Listing needs `autoindex on; autoindex_format json;` in the nginx location serving the cache',
    });
  }
  return parsed as ListingEntry[];
}

function statusHint(method: string, status: number, proxy: URL | undefined): string | undefined {
  const proxyAdvice = 'put them in its URL in HTTPS_PROXY/HTTP_PROXY (http://user:password@proxy.example.org:3128), or list the cache in NO_PROXY; they are masked in logs';
  if (status === 407) return `The proxy${proxy ? ` ${redactProxyUrl(proxy)}` : ''} wants credentials: ${proxyAdvice}`;
  if (status === 401 && proxy) return `The cache, or the proxy ${redactProxyUrl(proxy)} this request went through (some answer 401 to wrong credentials), wants credentials: for the cache put them in its URL (https://user:password@host/path) or pass a token; for the proxy ${proxyAdvice}`;
  if (status === 401) return 'The cache wants credentials: put them in the URL (https://user:password@host/path) or pass a token; they are masked in logs';
  if (status === 403 && (method === 'PUT' || method === 'DELETE')) return 'The server refused the write: check the credentials, and on nginx that the cache root is writable by the worker user';
  if (status === 403 && method === 'GET') return 'The server refused the read: the credentials need read access to this key';
  if (status === 403 && method === 'LIST') return 'The server refused the directory listing: enable `autoindex on; autoindex_format json;` for the cache location';
  if (status === 405 && (method === 'PUT' || method === 'DELETE')) return 'The server does not accept this method: on nginx set `dav_methods PUT DELETE;` for the cache location';
  if (status === 409) return 'A parent directory is missing on the server: on nginx set `create_full_put_path on;`';
  if (status === 413) return 'The object is larger than the server accepts: on nginx set `client_max_body_size 0;`';
  if (status >= 300 && status < 400) return 'The server redirected the request: use the final URL of the cache';
  if (isRetryableStatus(status)) return 'The cache server is overloaded or failing; check it, then re-run (objects already uploaded are skipped)';
  return undefined;
}

/** An HTTP date header as `{ modifiedAt }`, or nothing when absent or unparsable. */
function lastModified(header: string | undefined): { modifiedAt?: Date } {
  const date = header ? new Date(header) : undefined;
  return date && Number.isFinite(date.getTime()) ? { modifiedAt: date } : {};
}
