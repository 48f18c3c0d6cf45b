import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../../src/util/async.js';
import { generateSigningKey, newJti, signJwt, type SigningKey } from './jwt.js';

/** The claims GitHub Actions puts in its OIDC tokens (the ones a trust policy may test). */
export interface GitHubClaims {
  iss: string;
  sub: string;
  aud: string;
  ref: string;
  ref_type: string;
  sha: string;
  repository: string;
  repository_owner: string;
  repository_id: string;
  repository_owner_id: string;
  repository_visibility: string;
  actor: string;
  actor_id: string;
  workflow: string;
  workflow_ref: string;
  job_workflow_ref: string;
  environment?: string;
  event_name: string;
  head_ref: string;
  base_ref: string;
  run_id: string;
  run_number: string;
  run_attempt: string;
  runner_environment: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  [extra: string]: unknown;
}

/** GitHub's `sub`: environment first, then pull_request, then the ref. */
export function githubSubject(claims: Pick<GitHubClaims, 'repository' | 'ref' | 'event_name'> & { environment?: string | undefined }): string {
  if (claims.environment) return `repo:${claims.repository}:environment:${claims.environment}`;
  if (claims.event_name === 'pull_request' || claims.event_name === 'pull_request_target') return `repo:${claims.repository}:pull_request`;
  return `repo:${claims.repository}:ref:${claims.ref}`;
}

export interface OidcIssuerOptions {
  /**
   * Claim overrides for every token. `sub` follows GitHub's rule from repository/ref/
   * environment/event_name unless given; `aud` is the requested audience unless given.
   */
  claims?: Partial<GitHubClaims>;
  /** Token lifetime (GitHub: 5 minutes). Negative mints already-expired tokens. */
  tokenLifetimeSeconds?: number;
  clock?: Clock;
}

export interface OidcIssuer {
  /** `http://127.0.0.1:PORT`, the tokens' `iss` (GitHub: https://token.actions.githubusercontent.com). */
  issuerUrl: string;
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (carries `?api-version=2.0`). */
  requestUrl: string;
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  jwksUrl: string;
  /** Both ACTIONS_ID_TOKEN_REQUEST_* variables, for a step's environment. */
  env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  /** Replaces the claim overrides for tokens minted from now on. */
  setClaims(claims: Partial<GitHubClaims>): void;
  /** Mints a token directly (no HTTP), signed by the published key unless `foreignKey`. */
  mint(audience?: string, claims?: Partial<GitHubClaims>, options?: { foreignKey?: boolean }): string;
  /** The next `count` token requests answer `status` (fault injection). */
  failNext(count: number, status?: number): void;
  /** Every token request served, with the audience asked for and the claims minted. */
  readonly requests: { audience: string | undefined; authorized: boolean; status: number; claims?: GitHubClaims }[];
  stop(): Promise<void>;
}

const TOKEN_PATH = '/_apis/distributedtask/hubs/Actions/plans/p1/jobs/j1/idtoken';

/** A local stand-in for token.actions.githubusercontent.com plus the runner's token endpoint. */
export async function startOidcIssuer(options: OidcIssuerOptions = {}): Promise<OidcIssuer> {
  const clock = options.clock ?? systemClock;
  const key: SigningKey = generateSigningKey();
  const foreignKey: SigningKey = generateSigningKey();
  const requestToken = randomBytes(24).toString('base64url');
  let overrides: Partial<GitHubClaims> = { ...options.claims };
  let faults: { remaining: number; status: number } = { remaining: 0, status: 500 };
  const requests: OidcIssuer['requests'] = [];
  let issuerUrl = '';

  const claimsFor = (audience: string | undefined, extra: Partial<GitHubClaims>): GitHubClaims => {
    const wanted = { ...overrides, ...extra };
    const iat = Math.floor(clock.now().getTime() / 1000);
    const repository = wanted.repository ?? 'acme/fleet';
    const owner = repository.split('/')[0] ?? 'acme';
    const ref = wanted.ref ?? 'refs/heads/main';
    const base = {
      iss: issuerUrl,
      aud: audience ?? `https://github.com/${owner}`,
      ref,
      ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      sha: '0123456789abcdef0123456789abcdef01234567',
      repository,
      repository_owner: owner,
      repository_id: '74',
      repository_owner_id: '65',
      repository_visibility: 'private',
      actor: 'octocat',
      actor_id: '12',
      workflow: 'deploy',
      workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
      job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
      event_name: 'push',
      head_ref: '',
      base_ref: '',
      run_id: '4242',
      run_number: '7',
      run_attempt: '1',
      runner_environment: 'github-hosted',
      jti: newJti(),
      iat,
      // GitHub's tokens carry nbf ten minutes before iat and exp five minutes after it.
      nbf: iat - 600,
      exp: iat + (options.tokenLifetimeSeconds ?? 300),
    };
    const merged = { ...base, ...wanted } as GitHubClaims;
    if (wanted.sub === undefined) merged.sub = githubSubject(merged);
    if (merged.environment === undefined) delete merged.environment;
    return merged;
  };

  const send = (res: ServerResponse, status: number, body: object): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', issuerUrl);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      send(res, 200, {
        issuer: issuerUrl,
        jwks_uri: `${issuerUrl}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'sha', 'repository', 'repository_owner', 'job_workflow_ref', 'environment', 'event_name'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/.well-known/jwks') {
      send(res, 200, { keys: [key.jwk] });
      return;
    }
    if (req.method === 'GET' && url.pathname === TOKEN_PATH) {
      const audience = url.searchParams.get('audience') ?? undefined;
      const authorized = req.headers.authorization === `Bearer ${requestToken}`;
      if (faults.remaining > 0) {
        faults.remaining--;
        requests.push({ audience, authorized, status: faults.status });
        send(res, faults.status, { message: 'injected fault' });
        return;
      }
      if (!authorized) {
        requests.push({ audience, authorized, status: 401 });
        send(res, 401, { message: 'Bad credentials' });
        return;
      }
      if (url.searchParams.get('api-version') !== '2.0') {
        requests.push({ audience, authorized, status: 400 });
        send(res, 400, { message: 'api-version=2.0 is required' });
        return;
      }
      const claims = claimsFor(audience, {});
      requests.push({ audience, authorized, status: 200, claims });
      send(res, 200, { count: requests.length, value: signJwt(claims, key) });
      return;
    }
    send(res, 404, { message: 'Not Found' });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const requestUrl = `${issuerUrl}${TOKEN_PATH}?api-version=2.0`;

  return {
    issuerUrl,
    requestUrl,
    requestToken,
    jwksUrl: `${issuerUrl}/.well-known/jwks`,
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
    setClaims: (claims) => {
      overrides = { ...claims };
    },
    mint: (audience = 'sts.amazonaws.com', claims = {}, mintOptions = {}) => signJwt(claimsFor(audience, claims), mintOptions.foreignKey ? foreignKey : key),
    failNext: (count, status = 500) => {
      faults = { remaining: count, status };
    },
    requests,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
