import { HeadObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { S3BinaryCacheStore, s3RetryStrategy } from '../../../src/cache/stores/s3.js';

function s3Error(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

describe('S3BinaryCacheStore error mapping', () => {
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const mock = mockClient(client);
  const store = new S3BinaryCacheStore({ bucket: 'my-nix-cache', prefix: 'p', region: 'eu-west-1' }, { client });

  afterEach(() => mock.reset());
  afterAll(() => client.destroy());

  test('has(): 404 and 403 mean missing; the key carries the prefix', async () => {
    mock.on(HeadObjectCommand, { Key: 'p/a.narinfo' }).rejects(s3Error('NotFound', 404));
    mock.on(HeadObjectCommand, { Key: 'p/b.narinfo' }).rejects(s3Error('Forbidden', 403));
    mock.on(HeadObjectCommand, { Key: 'p/c.narinfo' }).resolves({});
    expect(await store.has('a.narinfo')).toBe(false);
    expect(await store.has('b.narinfo')).toBe(false);
    expect(await store.has('c.narinfo')).toBe(true);
  });

  test('get(): NoSuchKey and AccessDenied are missing; a rejected key is an error', async () => {
    mock.on(GetObjectCommand, { Key: 'p/a.narinfo' }).rejects(s3Error('NoSuchKey', 404));
    mock.on(GetObjectCommand, { Key: 'p/b.narinfo' }).rejects(s3Error('AccessDenied', 403));
    mock.on(GetObjectCommand, { Key: 'p/c.narinfo' }).rejects(s3Error('InvalidAccessKeyId', 403));
    expect(await store.get('a.narinfo')).toBeUndefined();
    expect(await store.get('b.narinfo')).toBeUndefined();
    await expect(store.get('c.narinfo')).rejects.toThrow(/Could not read s3:\/\/my-nix-cache\/p\/c\.narinfo: InvalidAccessKeyId.*credentials were rejected/);
  });

  test('get() with notFoundOnly: only NoSuchKey is missing; AccessDenied is an error naming the key and the permission', async () => {
    mock.on(GetObjectCommand, { Key: 'p/fleet/production/web1.json' }).rejects(s3Error('NoSuchKey', 404));
    mock.on(GetObjectCommand, { Key: 'p/fleet/production/web2.json' }).rejects(s3Error('AccessDenied', 403, 'Access Denied'));
    expect(await store.get('fleet/production/web1.json', { notFoundOnly: true })).toBeUndefined();
    expect(await store.get('fleet/production/web2.json')).toBeUndefined();
    await expect(store.get('fleet/production/web2.json', { notFoundOnly: true })).rejects.toMatchObject({
      name: 'StoreError',
      status: 403,
      message: expect.stringMatching(/Could not read s3:\/\/my-nix-cache\/p\/fleet\/production\/web2\.json: AccessDenied: Access Denied\. .*s3:GetObject/),
    });
  });

  test('put() failures say what to do', async () => {
    mock.on(PutObjectCommand, { Key: 'p/denied' }).rejects(s3Error('AccessDenied', 403, 'Access Denied'));
    mock.on(PutObjectCommand, { Key: 'p/nobucket' }).rejects(s3Error('NoSuchBucket', 404, 'The specified bucket does not exist'));
    mock.on(PutObjectCommand, { Key: 'p/moved' }).rejects(s3Error('PermanentRedirect', 301));
    mock.on(PutObjectCommand, { Key: 'p/slow' }).rejects(s3Error('SlowDown', 503, 'Please reduce your request rate.'));
    await expect(store.put('denied', 'x', 'text/plain')).rejects.toThrow(/AccessDenied: Access Denied\. The credentials lack permission on s3:\/\/my-nix-cache: the role needs s3:GetObject, s3:PutObject/);
    await expect(store.put('nobucket', 'x', 'text/plain')).rejects.toThrow(/The bucket "my-nix-cache" does not exist in eu-west-1/);
    await expect(store.put('moved', 'x', 'text/plain')).rejects.toThrow(/add \?region=<its region>/);
    await expect(store.put('slow', 'x', 'text/plain')).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/lower the upload concurrency/) });
  });

  test('put() sends the body, its length and content type', async () => {
    mock.on(PutObjectCommand).resolves({});
    await store.put('fleet/x.json', '{"a":1}', 'application/json');
    expect(mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'my-nix-cache',
      Key: 'p/fleet/x.json',
      ContentType: 'application/json',
      ContentLength: 7,
    });
  });
});

describe('s3RetryStrategy', () => {
  const policy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };

  test('retries throttling, transient and server errors with capped backoff, up to the attempts', async () => {
    const strategy = s3RetryStrategy(policy);
    const first = await strategy.acquireInitialRetryToken('s3');
    const second = await strategy.refreshRetryTokenForRetry(first, { errorType: 'THROTTLING', error: s3Error('SlowDown', 503) as never });
    expect(second.getRetryCount()).toBe(1);
    expect(second.getRetryDelay()).toBeLessThan(100);
    const third = await strategy.refreshRetryTokenForRetry(second, { errorType: 'TRANSIENT', error: s3Error('InternalError', 500) as never });
    expect(third.getRetryDelay()).toBeLessThan(200);
    await expect(strategy.refreshRetryTokenForRetry(third, { errorType: 'TRANSIENT', error: s3Error('InternalError', 500) as never })).rejects.toMatchObject({ name: 'InternalError' });
  });

  test('does not retry client errors or 501', async () => {
    const strategy = s3RetryStrategy(policy);
    const token = await strategy.acquireInitialRetryToken('s3');
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR', error: s3Error('AccessDenied', 403) as never })).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'SERVER_ERROR', error: s3Error('NotImplemented', 501) as never })).rejects.toMatchObject({ name: 'NotImplemented' });
  });

  test('waits at least the Retry-After hint, within the cap', async () => {
    const strategy = s3RetryStrategy(policy);
    const token = await strategy.acquireInitialRetryToken('s3');
    const next = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', retryAfterHint: new Date(Date.now() + 60_000) });
    expect(next.getRetryDelay()).toBe(1000);
  });
});
