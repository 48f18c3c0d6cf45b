import { inspect } from 'node:util';
import type { Clock } from '../../src/util/async.js';
import { memoryLog } from '../../src/util/log.js';
import { createRefreshingCredentials, describeIdentity } from '../../src/aws/index.js';
import { startOidcIssuer, startSts, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';

const ROLE = 'arn:aws:iam::123456789012:role/fleet-cache-writer';
const REGION = 'eu-central-1';
const LIFETIME = 3600;

/**
 * One clock for the holder, the issuer and STS, so moving it moves the whole world. It stands still on a
 * whole second between moves: STS states Expiration in whole seconds, and a clock that ran on would let
 * "301 s before expiry" drift across the 300 s refresh margin.
 */
function movableClock(): Clock & { advance(seconds: number): void } {
  let nowMs = Math.floor(Date.now() / 1000) * 1000;
  return { now: () => new Date(nowMs), advance: (seconds) => void (nowMs += seconds * 1000) };
}

let clock: ReturnType<typeof movableClock>;
let issuer: OidcIssuer;
let sts: StsEmulator;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  clock = movableClock();
  issuer = await startOidcIssuer({ claims: { ref: 'refs/heads/main' }, clock });
  sts = await startSts({ issuer, clock, credentialLifetimeSeconds: LIFETIME, trustPolicy: { roleArn: ROLE, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/main'] } });
  env = { ...issuer.env, AWS_ENDPOINT_URL_STS: sts.endpoint };
});

afterEach(async () => {
  await sts.stop();
  await issuer.stop();
});

const assumeCalls = (): number => sts.calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity').length;

describe('createRefreshingCredentials', () => {
  test('assumes the role on first use, then serves the same credentials from memory', async () => {
    const secrets: string[] = [];
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, onSecret: (s) => secrets.push(s) });
    expect(provider.session()).toBeUndefined();
    expect(assumeCalls()).toBe(0);

    const first = await provider();
    clock.advance(LIFETIME - 301);
    const second = await provider();

    const issued = sts.issued[0]!;
    expect(assumeCalls()).toBe(1);
    expect({ ...first }).toEqual({ accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken, expiration: issued.expiration });
    expect({ ...second }).toEqual({ ...first });
    expect(provider.session()).toEqual({ assumedRoleArn: issued.assumedRoleArn, expiration: issued.expiration });
    expect(secrets).toEqual(expect.arrayContaining([issued.accessKeyId, issued.secretAccessKey, issued.sessionToken]));
  });

  test('refreshes with a new token and a new STS call a few minutes before Expiration', async () => {
    const secrets: string[] = [];
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, onSecret: (s) => secrets.push(s) });
    const first = await provider();
    const tokenRequests = issuer.requests.length;

    clock.advance(LIFETIME - 299);
    const refreshed = await provider();

    expect(assumeCalls()).toBe(2);
    expect(issuer.requests.length).toBe(tokenRequests + 1);
    const issued = sts.issued[1]!;
    expect(refreshed.accessKeyId).toBe(issued.accessKeyId);
    expect(refreshed.accessKeyId).not.toBe(first.accessKeyId);
    expect(refreshed.secretAccessKey).not.toBe(first.secretAccessKey);
    expect(refreshed.sessionToken).not.toBe(first.sessionToken);
    expect(refreshed.expiration.getTime()).toBeGreaterThan(first.expiration.getTime());
    expect(secrets).toEqual(expect.arrayContaining([issued.accessKeyId, issued.secretAccessKey, issued.sessionToken]));
    // The refreshed credentials work: STS verifies their signature.
    await expect(describeIdentity(provider, { region: REGION, env })).resolves.toMatchObject({ arn: issued.assumedRoleArn });
  });

  test('the refresh margin is configurable', async () => {
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION, refreshBeforeExpirySeconds: 900 }, { env, clock, onSecret: () => {} });
    await provider();
    clock.advance(LIFETIME - 901);
    await provider();
    expect(assumeCalls()).toBe(1);
    clock.advance(2);
    await provider();
    expect(assumeCalls()).toBe(2);
  });

  test('concurrent requests share one STS call', async () => {
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, onSecret: () => {} });
    const all = await Promise.all(Array.from({ length: 5 }, () => provider()));
    expect(assumeCalls()).toBe(1);
    expect(new Set(all.map((c) => c.accessKeyId)).size).toBe(1);
  });

  test('a failed refresh keeps serving still-valid credentials, warns, and retries after a pause', async () => {
    const log = memoryLog();
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, log, onSecret: () => {} });
    const first = await provider();
    clock.advance(LIFETIME - 120);
    sts.failNext(1, { status: 403, code: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity' });

    const during = await provider();
    expect(during.accessKeyId).toBe(first.accessKeyId);
    expect(log.lines.some((l) => l.startsWith('warning: Refreshing AWS credentials failed; using the current ones until'))).toBe(true);

    const calls = assumeCalls();
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(assumeCalls()).toBe(calls);

    clock.advance(31);
    const after = await provider();
    expect(assumeCalls()).toBe(calls + 1);
    expect(after.accessKeyId).toBe(sts.issued[1]!.accessKeyId);
  });

  test('a failed refresh after expiry fails the request with the explanation', async () => {
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, onSecret: () => {} });
    await provider();
    clock.advance(LIFETIME + 1);
    issuer.setClaims({ ref: 'refs/heads/other' });
    await expect(provider()).rejects.toThrow(/AccessDenied[\s\S]*sub: repo:acme\/fleet:ref:refs\/heads\/other/);
  });

  test('the first failure is not cached: a later request tries again', async () => {
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, onSecret: () => {} });
    sts.failNext(1, { status: 403, code: 'AccessDenied' });
    await expect(provider()).rejects.toThrow(/AccessDenied/);
    const credentials = await provider();
    expect(credentials.accessKeyId).toBe(sts.issued[0]!.accessKeyId);
  });

  test('bad options fail at creation, before any request', () => {
    expect(() => createRefreshingCredentials({ roleArn: 'arn:aws:iam::123:role/x', region: REGION }, { env, onSecret: () => {} })).toThrow(/12-digit account ID/);
    expect(() => createRefreshingCredentials({ roleArn: ROLE, region: REGION, durationSeconds: 50_000 }, { env, onSecret: () => {} })).toThrow(/43200/);
    expect(issuer.requests).toHaveLength(0);
  });

  test('credentials never leave memory: not in the environment, the log, or any printed form', async () => {
    const envBefore = { ...process.env };
    const log = memoryLog();
    const secrets: string[] = [];
    const provider = createRefreshingCredentials({ roleArn: ROLE, region: REGION }, { env, clock, log, onSecret: (s) => secrets.push(s) });
    const credentials = await provider();
    clock.advance(LIFETIME);
    await provider();

    const values = sts.issued.flatMap((c) => [c.accessKeyId, c.secretAccessKey, c.sessionToken]);
    expect(values).toHaveLength(6);
    expect(secrets).toEqual(expect.arrayContaining(values));
    expect(process.env).toEqual(envBefore);
    expect(env).toEqual({ ...issuer.env, AWS_ENDPOINT_URL_STS: sts.endpoint });
    const printed = [...log.lines, JSON.stringify(credentials), inspect(credentials), String(credentials), JSON.stringify(provider.session())].join('\n');
    for (const value of [...values, ...secrets]) expect(printed).not.toContain(value);
    expect(log.lines).toContain(`AWS credentials for ${sts.issued[1]!.assumedRoleArn}, valid until ${sts.issued[1]!.expiration.toISOString()}`);
    expect(JSON.stringify(credentials)).toBe('"[AWS credentials: redacted]"');
  });
});
