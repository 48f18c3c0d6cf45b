import { S3BinaryCacheStore, type S3Location, type S3StoreOptions } from '../../src/cache/stores/s3.js';
import { StoreError } from '../../src/cache/stores/store-error.js';
import { memoryLog } from '../../src/util/log.js';
import { generatedStream, sha256OfUrl, startFaultProxy, startS3rver, type FaultProxy, type FaultProxyOptions, type S3rverHandle } from '../support/servers/index.js';
import { expectObjectsDatedWhenWritten } from '../support/store-dates.js';

const MiB = 1024 * 1024;

let s3: S3rverHandle;
let store: S3BinaryCacheStore;
const proxies: FaultProxy[] = [];
const stores: S3BinaryCacheStore[] = [];

beforeAll(async () => {
  s3 = await startS3rver();
  store = open(s3.endpoint);
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(proxies.map((p) => p.stop()));
  await s3?.stop();
});

function open(endpoint: string, location: Partial<S3Location> = {}, options: S3StoreOptions = {}): S3BinaryCacheStore {
  const s = new S3BinaryCacheStore(
    { bucket: s3.bucket, prefix: '', region: s3.region, endpoint, ...location },
    { credentials: s3.credentials, retry: { baseDelayMs: 5, maxDelayMs: 100 }, ...options },
  );
  stores.push(s);
  return s;
}

async function proxy(options: FaultProxyOptions, target = s3.endpoint): Promise<FaultProxy> {
  const p = await startFaultProxy(target, options);
  proxies.push(p);
  return p;
}

describe('S3BinaryCacheStore against s3rver', () => {
  test('round-trips small objects and lists them', async () => {
    await store.put('nix-cache-info', 'StoreDir: /nix/store\n', 'text/x-nix-cache-info');
    await store.put('fleet/prod/web-1.json', '{"host":"web-1"}', 'application/json');
    await store.put('fleet/prod/db/db-1.json', Buffer.from('{"host":"db-1"}'), 'application/json');
    expect((await store.get('nix-cache-info'))?.toString()).toBe('StoreDir: /nix/store\n');
    expect(await store.has('fleet/prod/web-1.json')).toBe(true);
    expect(await store.list('fleet/prod/')).toEqual(['fleet/prod/db/db-1.json', 'fleet/prod/web-1.json']);
    expect(await store.list('fleet/pr')).toEqual(['fleet/prod/db/db-1.json', 'fleet/prod/web-1.json']);
    expect(await store.list('absent/')).toEqual([]);
  });

  test('dates an object by when the store wrote it (the wave gate checks host clocks against it)', async () => {
    await expectObjectsDatedWhenWritten(store);
  });

  test('a key prefix in the URL keeps keys apart and lists relative keys', async () => {
    const prefixed = open(s3.endpoint, { prefix: 'caches/team-a' });
    expect(prefixed.url).toBe(`s3://${s3.bucket}/caches/team-a?region=${s3.region}&endpoint=${encodeURIComponent(s3.endpoint)}`);
    await prefixed.put('nix-cache-info', 'StoreDir: /nix/store\n', 'text/x-nix-cache-info');
    await prefixed.put('fleet/x.json', '{}', 'application/json');
    expect(await prefixed.list('')).toEqual(['fleet/x.json', 'nix-cache-info']);
    expect(await store.has('caches/team-a/fleet/x.json')).toBe(true);
    expect(await store.has('fleet/x.json')).toBe(false);
  });

  test('a missing object is false/undefined, for 404 and for 403', async () => {
    expect(await store.has('0000000000000000000000000000000b.narinfo')).toBe(false);
    expect(await store.get('0000000000000000000000000000000b.narinfo')).toBeUndefined();
    // S3 answers 403 for a missing key when the role may not list the bucket
    const forbidden = await proxy({ failRate: 1, status: 403, s3ErrorCode: 'AccessDenied', methods: ['HEAD', 'GET'] });
    const viaProxy = open(forbidden.endpoint);
    expect(await viaProxy.has('0000000000000000000000000000000b.narinfo')).toBe(false);
    expect(await viaProxy.get('0000000000000000000000000000000b.narinfo')).toBeUndefined();
    expect(forbidden.stats.injected.status).toBe(2);
  });

  test('delete() removes an object and ignores a missing one', async () => {
    await store.put('fleet/tmp/gone.json', '{}', 'application/json');
    await store.delete('fleet/tmp/gone.json');
    expect(await store.has('fleet/tmp/gone.json')).toBe(false);
    await expect(store.delete('fleet/tmp/gone.json')).resolves.toBeUndefined();
  });

  test('putStream uploads 64 MiB in parts with memory bounded by part size × queue', async () => {
    const counting = await proxy({});
    const viaProxy = open(counting.endpoint);
    let maxLead = 0;
    const body = generatedStream({
      bytes: 64 * MiB,
      onChunk: (produced) => {
        maxLead = Math.max(maxLead, produced - counting.stats.requestBodyBytes);
      },
    });
    const result = await viaProxy.putStream('nar/big.nar.zst', body.stream, 'application/x-nix-nar');
    expect(result.bytes).toBe(64 * MiB);
    expect(await sha256OfUrl(`${s3.url}/nar/big.nar.zst`)).toBe(body.digest());
    const parts = counting.stats.log.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.path));
    expect(parts).toHaveLength(64 * MiB / viaProxy.partSizeBytes);
    // At most queueSize parts in flight plus the one being filled, plus socket buffers.
    expect(maxLead).toBeLessThanOrEqual((viaProxy.queueSize + 1) * viaProxy.partSizeBytes + 8 * MiB);
    expect(await s3.pendingMultipartUploads()).toEqual([]);
  });

  test('a small stream goes up as one PutObject', async () => {
    const counting = await proxy({});
    const viaProxy = open(counting.endpoint);
    const body = generatedStream({ bytes: 100_000 });
    expect(await viaProxy.putStream('nar/small.nar.zst', body.stream, 'application/x-nix-nar')).toEqual({ bytes: 100_000 });
    expect(counting.stats.log.map((r) => r.method)).toEqual(['PUT']);
    expect(await sha256OfUrl(`${s3.url}/nar/small.nar.zst`)).toBe(body.digest());
  });

  test('SlowDown and 503 on a share of requests are retried and succeed', async () => {
    const slow = await proxy({ failRate: 0.4, s3SlowDown: true, seed: 4 });
    const viaSlow = open(slow.endpoint);
    const keys = Array.from({ length: 30 }, (_, i) => `fleet/slow/${i}.json`);
    await Promise.all(keys.map((key) => viaSlow.put(key, JSON.stringify({ key }), 'application/json')));
    expect((await Promise.all(keys.map((key) => viaSlow.get(key)))).map((b) => JSON.parse(b?.toString() ?? 'null').key)).toEqual(keys);
    expect(slow.stats.injected.slowDown).toBeGreaterThan(5);

    const flaky = await proxy({ failRate: 0.4, status: 503, seed: 8 });
    const viaFlaky = open(flaky.endpoint);
    expect(await Promise.all(keys.map((key) => viaFlaky.has(key)))).toEqual(keys.map(() => true));
    const body = generatedStream({ bytes: 12 * MiB });
    expect(await viaFlaky.putStream('nar/flaky.nar.zst', body.stream, 'application/x-nix-nar')).toEqual({ bytes: 12 * MiB });
    expect(await sha256OfUrl(`${s3.url}/nar/flaky.nar.zst`)).toBe(body.digest());
    expect(flaky.stats.injected.status).toBeGreaterThan(5);
  });

  test('parts cut mid-upload are retried from their buffer', async () => {
    const cutter = await proxy({ failRate: 0.5, cutAfterBytes: 1 * MiB, methods: ['PUT'], path: /partNumber=/, seed: 6 });
    const viaProxy = open(cutter.endpoint);
    const body = generatedStream({ bytes: 20 * MiB });
    expect(await viaProxy.putStream('nar/cut-retried.nar.zst', body.stream, 'application/x-nix-nar')).toEqual({ bytes: 20 * MiB });
    expect(cutter.stats.injected.cut).toBeGreaterThan(0);
    expect(await sha256OfUrl(`${s3.url}/nar/cut-retried.nar.zst`)).toBe(body.digest());
  });

  test('an upload whose parts keep failing is aborted: no object, no parts left', async () => {
    const cutter = await proxy({ failRate: 1, cutAfterBytes: 1 * MiB, methods: ['PUT'], path: /partNumber=/ });
    const viaProxy = open(cutter.endpoint, {}, { retry: { attempts: 2, baseDelayMs: 5 } });
    const abortsBefore = s3.abortedUploads;
    const body = generatedStream({ bytes: 20 * MiB });
    const error = await viaProxy.putStream('nar/cut.nar.zst', body.stream, 'application/x-nix-nar').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(`Could not write s3://${s3.bucket}/nar/cut.nar.zst: read ECONNRESET`);
    expect((error as Error).message).toMatch(/connection .* kept dropping/);
    expect((error as StoreError).retryable).toBe(true);
    expect(cutter.stats.log.some((r) => r.method === 'DELETE' && /uploadId=/.test(r.path))).toBe(true);
    expect(s3.abortedUploads).toBe(abortsBefore + 1);
    expect(await s3.pendingMultipartUploads()).toEqual([]);
    expect(await store.has('nar/cut.nar.zst')).toBe(false);
  });

  test('a failing source stream aborts the multipart upload and says the data failed', async () => {
    const abortsBefore = s3.abortedUploads;
    const body = generatedStream({ bytes: 40 * MiB, failAfterBytes: 20 * MiB });
    const error = await store.putStream('nar/broken.nar.zst', body.stream, 'application/x-nix-nar').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/data being uploaded failed: generated stream failed on purpose/);
    expect(s3.abortedUploads).toBe(abortsBefore + 1);
    expect(await s3.pendingMultipartUploads()).toEqual([]);
    expect(await store.has('nar/broken.nar.zst')).toBe(false);
  });

  test('when the abort itself fails, the error says parts remain and how to clean them', async () => {
    // two proxies in a row: the outer cuts the parts, the inner refuses the abort
    const refuseAbort = await proxy({ failRate: 1, status: 405, s3ErrorCode: 'MethodNotAllowed', methods: ['DELETE'] });
    const cutter = await proxy({ failRate: 1, cutAfterBytes: 1 * MiB, methods: ['PUT'], path: /partNumber=/ }, refuseAbort.endpoint);
    const log = memoryLog();
    const viaProxy = open(cutter.endpoint, {}, { retry: { attempts: 1 }, log });
    const error = await viaProxy.putStream('nar/stuck.nar.zst', generatedStream({ bytes: 12 * MiB }).stream, 'application/x-nix-nar').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/multipart upload could not be aborted/);
    expect((error as Error).message).toMatch(/AbortIncompleteMultipartUpload/);
    expect(log.lines.some((l) => /warning: Could not abort the multipart upload/.test(l))).toBe(true);
    expect(await s3.pendingMultipartUploads()).toHaveLength(1);
  });

  test('a download cut mid-body is retried', async () => {
    await store.put('fleet/cut/big.json', Buffer.alloc(300_000, 0x61), 'application/json');
    const cutter = await proxy({ failRate: 0.5, cutAfterBytes: 1000, methods: ['GET'], seed: 2 });
    const viaProxy = open(cutter.endpoint);
    const results = await Promise.all(Array.from({ length: 6 }, () => viaProxy.get('fleet/cut/big.json')));
    for (const body of results) expect(body?.length).toBe(300_000);
    expect(cutter.stats.injected.cut).toBeGreaterThan(0);
  });

  test('without a provider the SDK default chain applies (environment variables)', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, profile: process.env.AWS_PROFILE };
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    delete process.env.AWS_PROFILE;
    try {
      const fromEnv = new S3BinaryCacheStore({ bucket: s3.bucket, prefix: '', region: s3.region, endpoint: s3.endpoint });
      stores.push(fromEnv);
      await fromEnv.put('fleet/env.json', '{}', 'application/json');
      expect(await store.has('fleet/env.json')).toBe(true);
    } finally {
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret], ['AWS_PROFILE', saved.profile]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('a credentials provider is used for every request', async () => {
    let calls = 0;
    const provider = async () => {
      calls++;
      return s3.credentials;
    };
    const withProvider = open(s3.endpoint, {}, { credentials: provider });
    await withProvider.put('fleet/provider.json', '{}', 'application/json');
    expect(await withProvider.has('fleet/provider.json')).toBe(true);
    expect(calls).toBeGreaterThan(0);
  });

  test('rejected credentials and a missing bucket fail with what to do', async () => {
    const wrong = open(s3.endpoint, {}, { credentials: { accessKeyId: 'NOPE', secretAccessKey: 'wrong' } });
    const denied = await wrong.put('fleet/x.json', '{}', 'application/json').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(StoreError);
    expect((denied as Error).message).toMatch(/Could not write s3:\/\/nix-cache\/fleet\/x\.json: InvalidAccessKeyId/);
    expect((denied as Error).message).toMatch(/credentials were rejected/);
    expect((denied as Error).message).not.toContain('wrong');

    const absent = open(s3.endpoint, { bucket: 'absent-bucket' });
    const missing = await absent.put('fleet/x.json', '{}', 'application/json').catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/NoSuchBucket/);
    expect((missing as Error).message).toMatch(/bucket "absent-bucket" does not exist/);
  });
});
