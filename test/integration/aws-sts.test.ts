import { UserError } from '../../src/util/errors.js';
import { assumeRoleWithWebIdentity, describeIdentity, getWebIdentityToken, type IdTokenSource } from '../../src/aws/index.js';
import { startOidcIssuer, startSts, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';

// Real @aws-sdk/client-sts against the local issuer and STS: the wire format, the XML and the
// refusals are the SDK's own, not a mock's.
const ROLE = 'arn:aws:iam::123456789012:role/fleet-deploy';
const OTHER_ROLE = 'arn:aws:iam::123456789012:role/fleet-cache';
const REGION = 'eu-central-1';

let issuer: OidcIssuer;
let sts: StsEmulator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  issuer = await startOidcIssuer({ claims: { environment: 'production' } });
  sts = await startSts({
    issuer,
    trustPolicy: [
      { roleArn: ROLE, subjectPatterns: ['repo:acme/fleet:environment:production'] },
      { roleArn: OTHER_ROLE, audience: 'fleet-cache', subjectPatterns: ['repo:acme/fleet:*'], maxSessionDurationSeconds: 7200 },
    ],
  });
  env = { ...issuer.env, AWS_ENDPOINT_URL_STS: sts.endpoint, GITHUB_RUN_ID: '4242', GITHUB_RUN_ATTEMPT: '1' };
});

afterAll(async () => {
  await sts?.stop();
  await issuer?.stop();
});

beforeEach(() => {
  issuer.setClaims({ environment: 'production' });
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('assumeRoleWithWebIdentity', () => {
  test('trades a good token for credentials STS issued, and masks all of them first', async () => {
    const secrets: string[] = [];
    const before = Date.now();
    const assumed = await assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env, onSecret: (s) => secrets.push(s) });

    const issued = sts.issued.at(-1)!;
    expect(assumed.credentials).toEqual({
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: issued.expiration,
    });
    expect(assumed.credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(assumed.credentials.expiration.getTime()).toBeGreaterThanOrEqual(before + 3599_000 - 1000);
    expect(assumed.assumedRoleArn).toBe('arn:aws:sts::123456789012:assumed-role/fleet-deploy/fleet-4242-1');
    expect(assumed.subject).toBe('repo:acme/fleet:environment:production');
    expect(assumed.audience).toBe('sts.amazonaws.com');
    expect(assumed.provider).toBe(`arn:aws:iam::123456789012:oidc-provider/${issuer.issuerUrl.replace('http://', '')}`);

    const request = issuer.requests.at(-1)!;
    expect(request).toMatchObject({ audience: 'sts.amazonaws.com', authorized: true, status: 200 });
    expect(secrets).toHaveLength(4);
    expect(secrets.slice(1)).toEqual([issued.accessKeyId, issued.secretAccessKey, issued.sessionToken]);
    expect(secrets[0]).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  test('asks GitHub for the configured audience and honours duration and session name', async () => {
    const assumed = await assumeRoleWithWebIdentity({ roleArn: OTHER_ROLE, region: REGION, audience: 'fleet-cache', durationSeconds: 7200, sessionName: 'cache-push' }, { env });
    expect(issuer.requests.at(-1)?.audience).toBe('fleet-cache');
    expect(assumed.audience).toBe('fleet-cache');
    expect(assumed.assumedRoleArn).toBe('arn:aws:sts::123456789012:assumed-role/fleet-cache/cache-push');
    expect(assumed.credentials.expiration.getTime() - Date.now()).toBeGreaterThan(7000_000);
  });

  test('a subject the trust policy does not allow is explained with the token claims and a policy hint', async () => {
    issuer.setClaims({ ref: 'refs/heads/feature' });
    const calls = sts.calls.length;
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env }));
    expect(sts.calls.slice(calls)).toEqual([{ action: 'AssumeRoleWithWebIdentity', status: 403, code: 'AccessDenied', subject: 'repo:acme/fleet:ref:refs/heads/feature' }]);
    expect(error).toBeInstanceOf(UserError);
    const prefix = issuer.issuerUrl.replace('http://', '');
    expect(error.message).toContain(`Could not assume ${ROLE} with the GitHub OIDC token (AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity)`);
    expect(error.message).toContain('sub: repo:acme/fleet:ref:refs/heads/feature');
    expect(error.message).toContain('aud: sts.amazonaws.com');
    expect(error.message).toContain('repository: acme/fleet');
    expect(error.message).toContain('ref: refs/heads/feature');
    expect(error.message).toContain('job_workflow_ref: acme/fleet/.github/workflows/deploy.yml@refs/heads/feature');
    expect(error.message).toContain(`"StringLike": { "${prefix}:sub": "repo:acme/fleet:environment:production" }`);
  });

  test('a pull request subject is refused by an environment-only policy', async () => {
    issuer.setClaims({ event_name: 'pull_request', ref: 'refs/pull/7/merge' });
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env }));
    expect(error.message).toContain('sub: repo:acme/fleet:pull_request');
  });

  test('an audience the IAM provider does not list is refused as an invalid token', async () => {
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION, audience: 'api://somewhere-else' }, { env }));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain('InvalidIdentityToken: Incorrect token audience');
    expect(error.message).toContain('aud: api://somewhere-else');
    expect(error.message).toContain('audience input');
  });

  test("an audience the provider lists but this role's condition does not is AccessDenied", async () => {
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION, audience: 'fleet-cache' }, { env }));
    expect(error.message).toContain('AccessDenied');
    expect(error.message).toContain('aud: fleet-cache');
  });

  test('an expired token is refused and the message says so', async () => {
    const stale = await startOidcIssuer({ claims: { environment: 'production' }, tokenLifetimeSeconds: -60 });
    const staleSts = await startSts({ issuer: stale, trustPolicy: { roleArn: ROLE, subjectPatterns: ['repo:acme/fleet:*'] } });
    try {
      const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env: { ...stale.env, AWS_ENDPOINT_URL_STS: staleSts.endpoint } }));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toMatch(/ExpiredTokenException: Token expired/);
      expect(error.message).toContain("runner's clock");
      expect(staleSts.issued).toHaveLength(0);
    } finally {
      await staleSts.stop();
      await stale.stop();
    }
  });

  test('a token signed by a key the issuer does not publish is refused', async () => {
    const forged: IdTokenSource = async (audience) => issuer.mint(audience, { environment: 'production' }, { foreignKey: true });
    const issuedBefore = sts.issued.length;
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env, getIdToken: forged }));
    expect(error.message).toContain('(InvalidIdentityToken: The web identity token signature could not be verified)');
    expect(error.message).toContain('signature could not be verified');
    expect(sts.issued).toHaveLength(issuedBefore);
  });

  test('a role the trust policies do not know is AccessDenied', async () => {
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: 'arn:aws:iam::123456789012:role/nope', region: REGION }, { env }));
    expect(error.message).toContain('AccessDenied');
  });

  test("a duration above the role's MaxSessionDuration says how to fix it", async () => {
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION, durationSeconds: 7200 }, { env }));
    expect(error.message).toContain('exceeds the MaxSessionDuration');
    expect(error.message).toContain('Lower role-duration-seconds');
  });

  test('without ACTIONS_ID_TOKEN_REQUEST_URL the message shows the permissions block to add', async () => {
    const calls = sts.calls.length;
    const { ACTIONS_ID_TOKEN_REQUEST_URL: _, ...withoutUrl } = env;
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env: withoutUrl }));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain('`permissions: id-token: write`');
    expect(error.message).toContain('    permissions:\n      id-token: write\n      contents: read');
    expect(sts.calls.length).toBe(calls);
  });

  test("@actions/core's own missing-URL error becomes the same explanation", async () => {
    const coreGetIdToken: IdTokenSource = async () => {
      throw new Error('Error message: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable');
    };
    const error = await failure(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env, getIdToken: coreGetIdToken }));
    expect(error.message).toContain('id-token: write');
  });

  test('bad options fail before any token is requested', async () => {
    const requests = issuer.requests.length;
    await expect(assumeRoleWithWebIdentity({ roleArn: 'fleet-deploy', region: REGION }, { env })).rejects.toThrow(/bare role name/);
    await expect(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION, durationSeconds: 60 }, { env })).rejects.toThrow(/from 900/);
    await expect(assumeRoleWithWebIdentity({ roleArn: ROLE, region: 'Frankfurt' }, { env })).rejects.toThrow(/aws-region/);
    await expect(assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION, sessionName: 'a b' }, { env })).rejects.toThrow(/role-session-name/);
    expect(issuer.requests.length).toBe(requests);
  });

  test('the SDK retries a 503 from STS and then succeeds', async () => {
    sts.failNext(1, { status: 503, code: 'ServiceUnavailable' });
    const calls = sts.calls.length;
    const assumed = await assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env });
    expect(assumed.credentials.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
    expect(sts.calls.slice(calls).map((c) => c.status)).toEqual([503, 200]);
  });

  test('an explicit endpoint wins over AWS_ENDPOINT_URL_STS', async () => {
    const assumed = await assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION, endpoint: sts.endpoint }, { env: { ...env, AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' } });
    expect(assumed.credentials.accessKeyId).toBe(sts.issued.at(-1)!.accessKeyId);
  });
});

describe('getWebIdentityToken (the direct HTTP request)', () => {
  test('sends the request token as Bearer and appends the audience to the existing query', async () => {
    const token = await getWebIdentityToken('sts.amazonaws.com', { env });
    expect(issuer.requests.at(-1)).toMatchObject({ audience: 'sts.amazonaws.com', authorized: true, status: 200 });
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({
      iss: issuer.issuerUrl,
      aud: 'sts.amazonaws.com',
      sub: 'repo:acme/fleet:environment:production',
      repository: 'acme/fleet',
    });
  });

  test('retries 5xx answers', async () => {
    issuer.failNext(2, 502);
    const requests = issuer.requests.length;
    await expect(getWebIdentityToken(undefined, { env, retryDelayMs: 1 })).resolves.toMatch(/^ey/);
    expect(issuer.requests.slice(requests).map((r) => r.status)).toEqual([502, 502, 200]);
  });

  test('gives up after the last attempt, saying why', async () => {
    issuer.failNext(3, 503);
    await expect(getWebIdentityToken(undefined, { env, retryDelayMs: 1, attempts: 3 })).rejects.toThrow('Could not get a GitHub OIDC token after 3 attempts: HTTP 503');
  });

  test('a wrong request token is refused without retrying and without echoing it', async () => {
    const requests = issuer.requests.length;
    const error = await failure(getWebIdentityToken(undefined, { env: { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'stolen-or-stale' }, retryDelayMs: 1 }));
    expect(error.message).toContain('HTTP 401');
    expect(error.message).not.toContain('stolen-or-stale');
    expect(issuer.requests.length).toBe(requests + 1);
  });

  test('a missing request token is named', async () => {
    await expect(getWebIdentityToken(undefined, { env: { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl } })).rejects.toThrow(/ACTIONS_ID_TOKEN_REQUEST_TOKEN is not/);
  });

  test('a connection refused is retried and then reported', async () => {
    await expect(getWebIdentityToken(undefined, { env: { ...env, ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/idtoken?api-version=2.0' }, retryDelayMs: 1, attempts: 2 })).rejects.toThrow(
      /after 2 attempts/,
    );
  });
});

describe('describeIdentity', () => {
  test('signs GetCallerIdentity with the issued credentials and reports the assumed role', async () => {
    const { credentials } = await assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env });
    const identity = await describeIdentity(async () => credentials, { region: REGION, env });
    expect(identity).toMatchObject({ arn: 'arn:aws:sts::123456789012:assumed-role/fleet-deploy/fleet-4242-1', account: '123456789012' });
  });

  test('a wrong secret fails the signature check, so the emulator proves real signing', async () => {
    const { credentials } = await assumeRoleWithWebIdentity({ roleArn: ROLE, region: REGION }, { env });
    const tampered = { ...credentials, secretAccessKey: `${credentials.secretAccessKey.slice(0, -2)}xx` };
    await expect(describeIdentity(async () => tampered, { region: REGION, env })).rejects.toThrow(/signature we calculated does not match/);
    const wrongToken = { ...credentials, sessionToken: 'IQoJ-not-the-issued-one' };
    await expect(describeIdentity(async () => wrongToken, { region: REGION, env })).rejects.toThrow(/security token included in the request is invalid/);
  });
});
