import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { awsEndpointOf, awsRequestHandler, AWS_SERVICES } from '../../aws/request-handler.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import { backoffDelay, defaultRetryPolicy, isDroppedConnection, isTransientError, withRetry, type RetryPolicy } from '../retry.js';
import type { BinaryCacheStore, DatedObject, GetOptions, StoreObject } from '../store.js';
import { assertValidKey, assertValidPrefix, sortedByKey } from './keys.js';
import { StoreError } from './store-error.js';
import { countedBody, type StreamBody } from './stream-body.js';

/** Where an S3 cache lives: what `s3://bucket/prefix?region=…&endpoint=…` says. */
export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` ('' for the bucket root). */
  prefix: string;
  region?: string;
  /** A full URL (`http://127.0.0.1:9000`) for S3-compatible servers; path-style addressing. */
  endpoint?: string;
  profile?: string;
}

/** Static keys or an SDK provider (the OIDC/STS code passes one that refreshes itself). */
export type S3Credentials = S3ClientConfig['credentials'];

export interface S3StoreOptions {
  credentials?: S3Credentials;
  log?: Log;
  /**
   * Attempts per request, the first included (default 8), and the backoff between them: the SDK
   * runs them with our full-jitter strategy; throttling (SlowDown, 429), 5xx and dropped
   * connections are retried.
   */
  retry?: Partial<RetryPolicy>;
  /** Multipart part size (default 8 MiB, at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded in parallel per object (default 2). Memory per upload ≤ (queueSize + 1) × partSize. */
  queueSize?: number;
  /** Connections kept open (default 48: 32 uploads in flight, some with parts in parallel). */
  maxSockets?: number;
  /** Use this client instead of building one (tests with aws-sdk-client-mock). */
  client?: S3Client;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;
const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * An S3 (or S3-compatible) binary cache through the AWS SDK. Requests are retried inside the SDK
 * by `s3RetryStrategy` (full-jitter backoff; SlowDown, 429, 5xx and dropped connections).
 * `putStream` goes through lib-storage's Upload: bodies under one part go up as one PutObject,
 * larger ones as a multipart upload of buffered parts, each part retried on its own, so a plain
 * stream needs no replay (a factory body is opened once). Memory per upload stays under
 * (queueSize + 1) × partSize. If the upload fails, its multipart upload is aborted: S3 shows an
 * object only after CompleteMultipartUpload, so nothing half-written is ever visible.
 */
export class S3BinaryCacheStore implements BinaryCacheStore {
  readonly url: string;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  private readonly client: S3Client;
  private readonly log: Log | undefined;

  constructor(
    readonly location: S3Location,
    options: S3StoreOptions = {},
  ) {
    this.url = s3DisplayUrl(location);
    this.log = options.log;
    this.partSizeBytes = Math.max(MIN_PART_SIZE, options.partSizeBytes ?? DEFAULT_PART_SIZE);
    this.queueSize = Math.max(1, options.queueSize ?? DEFAULT_QUEUE_SIZE);
    this.client = options.client ?? new S3Client(clientConfig(location, options));
  }

  async has(key: string): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw this.failure('check', key, error);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer | undefined> {
    return (await this.getWithDate(key, options))?.body;
  }

  async getWithDate(key: string, options: GetOptions = {}): Promise<DatedObject | undefined> {
    const Key = this.objectKey(key);
    // The SDK retries the request; a connection dropped while the body streams in is retried here.
    const bodyFailures = new WeakSet<object>();
    return withRetry(async () => {
      let out;
      try {
        out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key }));
      } catch (error) {
        if (options.notFoundOnly ? isNotFound(error) : isMissing(error)) return undefined;
        throw this.failure('read', key, error);
      }
      const dated = out.LastModified ? { modifiedAt: out.LastModified } : {};
      if (!out.Body) return { body: Buffer.alloc(0), ...dated };
      try {
        const body = await out.Body.transformToByteArray();
        return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), ...dated };
      } catch (error) {
        const failure = new StoreError(`Reading ${this.display(key)} failed: ${errorMessage(error)}`, { url: this.display(key), key, retryable: isDroppedConnection(error), cause: error });
        bodyFailures.add(failure);
        throw failure;
      }
    }, { what: `GET ${this.display(key)}`, log: this.log, attempts: 3, isRetryable: (error) => bodyFailures.has(error as object) && isTransientError(error) });
  }

  async put(key: string, body: Buffer | string, contentType: string): Promise<void> {
    const Key = this.objectKey(key);
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key, Body: data, ContentType: contentType, ContentLength: data.length }));
    } catch (error) {
      throw this.failure('write', key, error);
    }
  }

  async putStream(key: string, body: StreamBody, contentType: string): Promise<{ bytes: number }> {
    const Key = this.objectKey(key);
    const counted = countedBody(body);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key, Body: counted.stream, ContentType: contentType },
      partSize: this.partSizeBytes,
      queueSize: this.queueSize,
      // We abort ourselves, so that a failed abort cannot hide why the upload failed.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
      return { bytes: counted.stream.bytes };
    } catch (error) {
      counted.stop();
      const aborted = await this.abortMultipart(key, Key, upload.uploadId);
      const sourceError = counted.sourceError();
      if (sourceError !== undefined) {
        throw new StoreError(`Could not upload ${this.display(key)}: the data being uploaded failed: ${errorMessage(sourceError)}`, { url: this.display(key), key, cause: sourceError });
      }
      const failure = this.failure('write', key, error);
      if (aborted) throw failure;
      throw new StoreError(`${failure.message}. Its multipart upload could not be aborted and keeps its parts (billed storage)`, {
        url: this.display(key),
        key,
        retryable: failure instanceof StoreError && failure.retryable,
        hint: 'Add a lifecycle rule "AbortIncompleteMultipartUpload" to the bucket so S3 removes such parts',
        cause: error,
      });
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  async listObjects(prefix: string): Promise<StoreObject[]> {
    assertValidPrefix(prefix, this.url);
    const objects: StoreObject[] = [];
    const base = this.location.prefix ? `${this.location.prefix}/` : '';
    let ContinuationToken: string | undefined;
    do {
      try {
        const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: base + prefix, ContinuationToken }));
        for (const object of out.Contents ?? []) {
          if (!object.Key?.startsWith(base)) continue;
          objects.push({ key: object.Key.slice(base.length), ...(object.Size !== undefined ? { size: object.Size } : {}), ...(object.LastModified ? { modifiedAt: object.LastModified } : {}) });
        }
        ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
      } catch (error) {
        throw this.failure('list', prefix, error);
      }
    } while (ContinuationToken);
    return sortedByKey(objects);
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key }));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw this.failure('delete', key, error);
    }
  }

  /** DeleteObjects, 1,000 keys a request (S3's limit); a key S3 could not delete fails the call. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let out;
      try {
        out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Quiet: true, Objects: batch.map((key) => ({ Key: this.objectKey(key) })) } }));
      } catch (error) {
        throw this.failure('delete', `${batch[0]} and ${batch.length - 1} more`, error);
      }
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0];
        throw new StoreError(`S3 did not delete ${failed.length} of ${batch.length} objects in ${this.url} (first: ${first?.Key}: ${first?.Code} ${first?.Message ?? ''})`.trim(), {
          url: this.url,
          key: first?.Key ?? '',
          retryable: failed.every((e) => e.Code === 'InternalError' || e.Code === 'SlowDown'),
          hint: 'The role needs s3:DeleteObject on the bucket; re-run the collection, which starts again from what is left',
        });
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Returns whether nothing of the upload remains (no multipart upload, or aborted). */
  private async abortMultipart(key: string, Key: string, uploadId: string | undefined): Promise<boolean> {
    if (!uploadId) return true;
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key, UploadId: uploadId }));
      this.log?.debug(`aborted the multipart upload of ${this.display(key)}`);
      return true;
    } catch (error) {
      if (statusOf(error) === 404 || errorName(error) === 'NoSuchUpload') return true;
      this.log?.warning(`Could not abort the multipart upload ${uploadId} of ${this.display(key)}: ${errorMessage(error)}`);
      return false;
    }
  }

  private objectKey(key: string): string {
    assertValidKey(key, this.url);
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  private display(key: string): string {
    return `${this.url.replace(/\?.*$/, '')}/${key}`;
  }

  private failure(action: string, key: string, error: unknown): Error {
    if (error instanceof StoreError) return error;
    const status = statusOf(error);
    const name = errorName(error);
    const message = errorMessage(error).replace(/^AWS SDK error wrapper for \w+: /, '');
    const dropped = isDroppedConnection(error);
    return new StoreError(`Could not ${action} ${this.display(key)}: ${name && name !== 'Error' && !dropped ? `${name}: ` : ''}${message}`, {
      url: this.display(key),
      key,
      status,
      // Informational: the SDK has already retried; a later re-run may still succeed.
      retryable: isTransientError(error),
      hint: dropped
        ? `The connection to ${this.location.endpoint ?? 'S3'} kept dropping through every retry; check the network, then re-run (objects already uploaded are skipped)`
        : s3Hint(name, status, this.location),
      cause: error,
    });
  }
}

export const DEFAULT_S3_ATTEMPTS = 8;

function clientConfig(location: S3Location, options: S3StoreOptions): S3ClientConfig {
  const policy: RetryPolicy = { ...defaultRetryPolicy, attempts: DEFAULT_S3_ATTEMPTS, ...options.retry };
  const maxSockets = options.maxSockets ?? 48;
  const agent = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  const region = location.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  // Without an endpoint the SDK addresses the bucket by name (virtual-hosted style).
  const endpoint = awsEndpointOf({ ...AWS_SERVICES.s3, host: `${location.bucket}.s3` }, region, location.endpoint);
  return {
    region,
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
    // S3-compatible servers (MinIO, Garage, Ceph, s3rver) vary in their support of the SDK's
    // default CRC32 trailers; Nix checks every NAR's hash on its own anyway.
    ...(location.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    ...(location.profile ? { profile: location.profile } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: policy.attempts,
    retryStrategy: s3RetryStrategy(policy),
    requestHandler: { ...awsRequestHandler(endpoint, agent), connectionTimeout: 10_000, socketTimeout: 60_000 },
  };
}

export type SdkRetryStrategy = Extract<NonNullable<S3ClientConfig['retryStrategy']>, { acquireInitialRetryToken: unknown }>;
type SdkRetryToken = Awaited<ReturnType<SdkRetryStrategy['acquireInitialRetryToken']>>;

/**
 * The SDK's retry loop with our policy: full-jitter backoff, Retry-After honoured, no shared
 * retry quota (the SDK's token bucket would stop retrying all 32 uploads after a burst of
 * SlowDown; the attempts per request are bounded instead).
 */
export function s3RetryStrategy(policy: RetryPolicy): SdkRetryStrategy {
  const token = (count: number, delay: number): SdkRetryToken => ({ getRetryCount: () => count, getRetryDelay: () => delay });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, info) => {
      const retries = previous.getRetryCount();
      const status = statusOf(info.error);
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT' || (info.errorType === 'SERVER_ERROR' && status !== 501);
      if (!retryable || retries + 1 >= policy.attempts) throw info.error ?? new Error('not retried');
      const hinted = info.retryAfterHint ? Math.min(policy.maxDelayMs, Math.max(0, info.retryAfterHint.getTime() - Date.now())) : 0;
      return token(retries + 1, Math.max(backoffDelay(retries, policy), hinted));
    },
    recordSuccess: () => {},
  };
}

/** `s3://bucket/prefix?region=…&endpoint=…` with only the parameters that locate the cache. */
export function s3DisplayUrl(location: S3Location): string {
  const query = new URLSearchParams();
  if (location.region) query.set('region', location.region);
  if (location.endpoint) query.set('endpoint', location.endpoint);
  if (location.profile) query.set('profile', location.profile);
  const search = query.toString();
  return `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}${search ? `?${search}` : ''}`;
}

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Whether a failed read means "no such object". S3 answers 403 instead of 404 for a missing key
 * when the role may not list the bucket, so a 403 counts as missing too (the BinaryCacheStore
 * contract) unless its error code says the credentials themselves were refused. HEAD responses
 * have no body, hence no code: any 403 or 404 there is "missing".
 */
function isMissing(error: unknown): boolean {
  const name = errorName(error);
  const status = statusOf(error);
  if (name === 'NoSuchBucket' || (name !== undefined && CREDENTIAL_ERRORS.has(name))) return false;
  return name === 'NotFound' || name === 'NoSuchKey' || status === 404 || status === 403;
}

/** Whether S3 said the object does not exist, not merely that it may not be read. */
function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NotFound' || name === 'NoSuchKey' || (statusOf(error) === 404 && name !== 'NoSuchBucket');
}

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired']);

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function s3Hint(name: string | undefined, status: number | undefined, location: S3Location): string | undefined {
  switch (name) {
    case 'NoSuchBucket':
      return `The bucket "${location.bucket}" does not exist${location.region ? ` in ${location.region}` : ''}: create it or fix the cache URL (example: s3://my-cache?region=eu-west-1)`;
    case 'AccessDenied':
    case 'Forbidden':
      return `The credentials lack permission on s3://${location.bucket}: the role needs s3:GetObject, s3:PutObject, s3:ListBucket, s3:AbortMultipartUpload (and s3:DeleteObject to prune)`;
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
      return 'The AWS credentials were rejected: check the role assumed through OIDC, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
    case 'CredentialsProviderError':
      return 'No AWS credentials were found: configure the OIDC role input, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE';
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
      return 'The bucket is in another region: add ?region=<its region> to the cache URL';
    case 'SlowDown':
      return 'S3 kept asking to slow down after every retry; lower the upload concurrency or re-run later';
  }
  if (status !== undefined && status >= 500) return 'The S3 service kept failing after retries; re-run later (objects already uploaded are skipped)';
  return undefined;
}
