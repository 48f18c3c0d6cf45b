import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../../src/util/async.js';
import { parseJwt, verifyJwtSignature, type PublicJwk } from './jwt.js';
import { stringLike } from './string-like.js';
import { verifySigV4 } from './sigv4.js';

/** One IAM role that trusts the issuer, with the conditions GitHub guides recommend. */
export interface TrustPolicy {
  roleArn: string;
  /** `<issuer>:aud` StringEquals; default sts.amazonaws.com. */
  audience?: string;
  /** `<issuer>:sub` StringLike patterns (`*`, `?`); any one must match. */
  subjectPatterns: string[];
  /** The role's MaxSessionDuration (default 3600). */
  maxSessionDurationSeconds?: number;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  roleArn: string;
  assumedRoleArn: string;
  sessionName: string;
  subject: string;
}

export interface StsOptions {
  /** The OIDC issuer registered as an IAM identity provider; its JWKS is fetched over HTTP, as AWS does. */
  issuer: { issuerUrl: string };
  trustPolicy: TrustPolicy | TrustPolicy[];
  /** Lifetime of issued credentials; default the request's DurationSeconds (or 3600). */
  credentialLifetimeSeconds?: number;
  /** The IAM OIDC provider's client IDs (audiences); default every trust policy's audience. */
  clientIds?: string[];
  clock?: Clock;
  /** Called for each credential set issued (to register keys with another emulator, say). */
  onIssue?: (credentials: IssuedCredentials) => void;
}

export interface StsCall {
  action: string;
  status: number;
  code?: string;
  /** The token's sub, for AssumeRoleWithWebIdentity calls that carried a readable token. */
  subject?: string;
}

export interface StsEmulator {
  /** `http://127.0.0.1:PORT`: use as AWS_ENDPOINT_URL_STS or the client's `endpoint`. */
  endpoint: string;
  /** Every credential set handed out, oldest first: search logs and outputs for these. */
  readonly issued: IssuedCredentials[];
  readonly calls: StsCall[];
  /** The next `count` requests fail with this AWS error (fault injection). */
  failNext(count: number, error?: { status: number; code: string; message?: string }): void;
  stop(): Promise<void>;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

class StsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

const xml = (value: string): string => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const awsTime = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const upperAlnum = (length: number): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((b) => alphabet[b % 32]).join('');
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function validationError(message: string): StsFault {
  return new StsFault(400, 'ValidationError', message);
}

/**
 * A local AWS STS speaking the query protocol (form-encoded POST, Version=2011-06-15, XML answers)
 * for AssumeRoleWithWebIdentity and GetCallerIdentity, checking tokens and trust policies as AWS does.
 */
export async function startSts(options: StsOptions): Promise<StsEmulator> {
  const clock = options.clock ?? systemClock;
  const policies = Array.isArray(options.trustPolicy) ? options.trustPolicy : [options.trustPolicy];
  const clientIds = options.clientIds ?? policies.map((p) => p.audience ?? 'sts.amazonaws.com');
  const issued: IssuedCredentials[] = [];
  const calls: StsCall[] = [];
  let faults = { remaining: 0, status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable' };

  const issuerHost = options.issuer.issuerUrl.replace(/^https?:\/\//, '');

  async function fetchJwks(): Promise<PublicJwk[]> {
    try {
      const discovery = (await (await fetch(`${options.issuer.issuerUrl}/.well-known/openid-configuration`)).json()) as { jwks_uri?: string };
      if (!discovery.jwks_uri) throw new Error('no jwks_uri');
      const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys?: PublicJwk[] };
      return jwks.keys ?? [];
    } catch {
      throw new StsFault(400, 'IDPCommunicationError', `Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements`);
    }
  }

  async function assumeRoleWithWebIdentity(params: URLSearchParams, call: StsCall): Promise<string> {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const token = params.get('WebIdentityToken');
    if (!roleArn) throw validationError("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
    if (!sessionName) throw validationError("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
    if (!token) throw validationError("1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null");
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw validationError(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const durationText = params.get('DurationSeconds');
    const duration = durationText === null ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw validationError(`1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value ${duration < 900 ? 'greater than or equal to 900' : 'less than or equal to 43200'}`);
    }

    const jwt = parseJwt(token);
    if (!jwt) throw new StsFault(400, 'InvalidIdentityToken', "Couldn't parse web identity token.");
    const { claims } = jwt;
    if (typeof claims.sub === 'string') call.subject = claims.sub;
    if (claims.iss !== options.issuer.issuerUrl) {
      throw new StsFault(400, 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${String(claims.iss)}`);
    }
    const keys = await fetchJwks();
    const key = keys.find((k) => k.kid === jwt.header.kid);
    if (!key || !verifyJwtSignature(jwt, key)) {
      throw new StsFault(400, 'InvalidIdentityToken', 'The web identity token signature could not be verified.');
    }
    const now = Math.floor(clock.now().getTime() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      throw new StsFault(400, 'ExpiredTokenException', `Token expired: current date/time ${now} must be before the expiration date/time${typeof claims.exp === 'number' ? ` ${claims.exp}` : ''}`);
    }
    if (typeof claims.nbf === 'number' && claims.nbf > now) throw new StsFault(400, 'InvalidIdentityToken', 'Token is not yet valid (nbf).');
    const audiences = Array.isArray(claims.aud) ? (claims.aud as unknown[]) : [claims.aud];
    if (!audiences.some((aud) => typeof aud === 'string' && clientIds.includes(aud))) {
      throw new StsFault(400, 'InvalidIdentityToken', 'Incorrect token audience');
    }

    const denied = new StsFault(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    const policy = policies.find((p) => p.roleArn === roleArn);
    if (!policy) throw denied;
    const subject = typeof claims.sub === 'string' ? claims.sub : '';
    if (!audiences.includes(policy.audience ?? 'sts.amazonaws.com')) throw denied;
    if (!policy.subjectPatterns.some((pattern) => stringLike(pattern, subject))) throw denied;
    if (duration > (policy.maxSessionDurationSeconds ?? 3600)) {
      throw validationError('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const [, account = '000000000000', roleName = 'role'] = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn) ?? [];
    const credentials: IssuedCredentials = {
      accessKeyId: `ASIA${upperAlnum(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(180).toString('base64')}`,
      expiration: new Date((now + (options.credentialLifetimeSeconds ?? duration)) * 1000),
      roleArn,
      assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      sessionName,
      subject,
    };
    issued.push(credentials);
    options.onIssue?.(credentials);
    const audience = audiences.find((a): a is string => typeof a === 'string') ?? '';
    return `<AssumeRoleWithWebIdentityResponse xmlns="${NS}">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>${xml(subject)}</SubjectFromWebIdentityToken>
    <Audience>${xml(audience)}</Audience>
    <AssumedRoleUser>
      <Arn>${xml(credentials.assumedRoleArn)}</Arn>
      <AssumedRoleId>AROA${upperAlnum(17)}:${xml(sessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xml(credentials.sessionToken)}</SessionToken>
      <SecretAccessKey>${xml(credentials.secretAccessKey)}</SecretAccessKey>
      <Expiration>${awsTime(credentials.expiration)}</Expiration>
      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::${account}:oidc-provider/${xml(issuerHost)}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;
  }

  function getCallerIdentity(req: IncomingMessage, body: Buffer): string {
    const result = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, (id) => issued.find((c) => c.accessKeyId === id)?.secretAccessKey);
    if (!result.ok) {
      if (result.code === 'SignatureDoesNotMatch') {
        throw new StsFault(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
      }
      if (result.code === 'InvalidClientTokenId') throw new StsFault(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      throw new StsFault(400, result.code, 'Request is missing Authentication Token');
    }
    const credentials = issued.find((c) => c.accessKeyId === result.accessKeyId) as IssuedCredentials;
    if (req.headers['x-amz-security-token'] !== credentials.sessionToken) {
      throw new StsFault(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    if (clock.now().getTime() >= credentials.expiration.getTime()) {
      throw new StsFault(403, 'ExpiredToken', 'The security token included in the request is expired');
    }
    const [, account = '000000000000'] = /^arn:[^:]+:iam::(\d{12}):/.exec(credentials.roleArn) ?? [];
    return `<GetCallerIdentityResponse xmlns="${NS}">
  <GetCallerIdentityResult>
    <Arn>${xml(credentials.assumedRoleArn)}</Arn>
    <UserId>AROA${upperAlnum(17)}:${xml(credentials.sessionName)}</UserId>
    <Account>${account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>`;
  }

  const respond = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://sts.local');
    const params = new URLSearchParams(url.search);
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
    }
    const action = params.get('Action') ?? '';
    const call: StsCall = { action, status: 200 };
    calls.push(call);
    try {
      if (faults.remaining > 0) {
        faults.remaining--;
        throw new StsFault(faults.status, faults.code, faults.message, faults.status >= 500 ? 'Receiver' : 'Sender');
      }
      if (params.get('Version') !== '2011-06-15') {
        throw new StsFault(400, 'InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
      }
      if (action === 'AssumeRoleWithWebIdentity') respond(res, 200, await assumeRoleWithWebIdentity(params, call));
      else if (action === 'GetCallerIdentity') respond(res, 200, getCallerIdentity(req, body));
      else throw new StsFault(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
    } catch (error) {
      const fault = error instanceof StsFault ? error : new StsFault(500, 'InternalFailure', String(error), 'Receiver');
      call.status = fault.status;
      call.code = fault.code;
      respond(
        res,
        fault.status,
        `<ErrorResponse xmlns="${NS}">
  <Error>
    <Type>${fault.type}</Type>
    <Code>${xml(fault.code)}</Code>
    <Message>${xml(fault.message)}</Message>
  </Error>
  <RequestId>${randomUUID()}</RequestId>
</ErrorResponse>`,
      );
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issued,
    calls,
    failNext: (count, error = { status: 503, code: 'ServiceUnavailable' }) => {
      faults = { remaining: count, status: error.status, code: error.code, message: error.message ?? `${error.code} (injected)` };
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
