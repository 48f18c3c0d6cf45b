import { createRequire } from 'node:module';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../../src/util/async.js';
import { createRefreshingCredentials, type RefreshingCredentialsProvider } from '../../src/aws/index.js';
import { startOidcIssuer, startSts, type IssuedCredentials, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';
import { startS3rver, type S3rverHandle } from '../support/servers/index.js';

// s3rver accepts a request only if its access key id is registered with its account registry
// (it does not check SigV4 itself). Registering exactly the keys STS issues, and revoking the
// old ones after a refresh, proves which credentials the S3 client really used.
interface S3rverAccounts {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void; revokeAccessKey(accessKeyId: string): void };
}
const accounts = createRequire(import.meta.url)('s3rver/lib/models/account.js') as S3rverAccounts;

const ROLE = 'arn:aws:iam::123456789012:role/fleet-cache-writer';

let clockOffsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + clockOffsetMs) };
let issuer: OidcIssuer;
let sts: StsEmulator;
let s3: S3rverHandle;
let provider: RefreshingCredentialsProvider;
let client: S3Client;
/** The access key id and session token on each signed S3 request. */
const seen: { accessKeyId: string; sessionToken: string | undefined }[] = [];

beforeAll(async () => {
  issuer = await startOidcIssuer({ clock, claims: { ref: 'refs/heads/main' } });
  sts = await startSts({
    issuer,
    clock,
    credentialLifetimeSeconds: 3600,
    trustPolicy: { roleArn: ROLE, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/*'] },
    onIssue: (c: IssuedCredentials) => accounts.DUMMY_ACCOUNT.createKeyPair(c.accessKeyId, c.secretAccessKey),
  });
  s3 = await startS3rver({ bucket: 'fleet-cache' });
  provider = createRefreshingCredentials(
    { roleArn: ROLE, region: 'eu-central-1', endpoint: sts.endpoint },
    { env: issuer.env, clock, onSecret: () => {} },
  );
  client = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: provider });
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers: Record<string, string> }).headers;
      const accessKeyId = /Credential=([^/]+)\//.exec(headers.authorization ?? '')?.[1] ?? '';
      seen.push({ accessKeyId, sessionToken: headers['x-amz-security-token'] });
      return next(args);
    },
    { step: 'deserialize', name: 'recordSigningIdentity' },
  );
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  await sts?.stop();
  await issuer?.stop();
});

async function roundTrip(key: string, body: string): Promise<string> {
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, ContentType: 'text/plain' }));
  const answer = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return answer.Body!.transformToString();
}

test('the S3 client signs with the role credentials the provider holds', async () => {
  await expect(roundTrip('nix-cache-info', 'StoreDir: /nix/store\n')).resolves.toBe('StoreDir: /nix/store\n');
  const [issued] = sts.issued;
  expect(sts.issued).toHaveLength(1);
  expect(seen.length).toBeGreaterThanOrEqual(2);
  for (const request of seen) expect(request).toEqual({ accessKeyId: issued!.accessKeyId, sessionToken: issued!.sessionToken });
});

test('after the clock nears Expiration the next S3 request uses refreshed credentials', async () => {
  const old = sts.issued[0]!;
  accounts.DUMMY_ACCOUNT.revokeAccessKey(old.accessKeyId);
  clockOffsetMs = 3400 * 1000;
  seen.length = 0;

  await expect(roundTrip('fleet/production/host-a.json', '{"ok":true}')).resolves.toBe('{"ok":true}');
  expect(sts.issued).toHaveLength(2);
  const fresh = sts.issued[1]!;
  expect(fresh.accessKeyId).not.toBe(old.accessKeyId);
  for (const request of seen) expect(request).toEqual({ accessKeyId: fresh.accessKeyId, sessionToken: fresh.sessionToken });
});

test('s3rver refuses the revoked first key (so the tests above prove which key was used)', async () => {
  const stranger = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: sts.issued[0]!.accessKeyId, secretAccessKey: sts.issued[0]!.secretAccessKey },
  });
  try {
    await expect(stranger.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'nix-cache-info' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
  } finally {
    stranger.destroy();
  }
});
