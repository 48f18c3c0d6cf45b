import { UserError, errorMessage } from '../util/errors.js';
import { proxiedFetch } from '../util/proxy.js';
import { retry } from '../util/retry.js';

/** The audience AWS expects in a GitHub OIDC token unless the IAM provider says otherwise. */
export const DEFAULT_AUDIENCE = 'sts.amazonaws.com';

/**
 * Fetches a GitHub OIDC token for an audience. The runner passes `core.getIDToken`; tests and the
 * command line pass `getWebIdentityToken`. Both have this shape.
 */
export type IdTokenSource = (audience: string) => Promise<string>;

const PERMISSION_HELP = [
  'The job lacks `permissions: id-token: write`, so GitHub gave it no way to request an OIDC token',
  '(ACTIONS_ID_TOKEN_REQUEST_URL is not set). Add this to the job (or to the whole workflow):',
  '',
  '    permissions:',
  '      id-token: write',
  '      contents: read',
  '',
  'Once a job lists `permissions`, every permission it does not list is `none`, so keep `contents: read`',
  'for actions/checkout. Pull requests from forks never receive an OIDC token.',
].join('\n');

/** The error for a job that cannot request an OIDC token at all. */
export function missingIdTokenPermissionError(): UserError {
  return new UserError(PERMISSION_HELP);
}

export interface GetWebIdentityTokenOptions {
  /** Where ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are read from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Attempts for 5xx/429 answers and dropped connections (default 4). */
  attempts?: number;
  /** First back-off delay; doubles per attempt (default 500 ms). */
  retryDelayMs?: number;
  /** Per-request time limit (default 30 s). */
  timeoutMs?: number;
}

/**
 * Requests a GitHub OIDC token over HTTP exactly as `@actions/core`'s getIDToken does:
 * GET `${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=…` with the request token as Bearer, answer `{ value }`.
 */
export async function getWebIdentityToken(audience: string = DEFAULT_AUDIENCE, options: GetWebIdentityTokenOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  if (!requestUrl) throw missingIdTokenPermissionError();
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestToken) {
    throw new UserError('ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not; the runner provides both when the job has `permissions: id-token: write`.');
  }
  // GitHub's URL already carries a query string (`?api-version=2.0`), hence `&`.
  const url = `${requestUrl}&audience=${encodeURIComponent(audience)}`;
  const attempts = Math.max(1, options.attempts ?? 4);
  const retryDelayMs = options.retryDelayMs ?? 500;
  const requestOnce = async (): Promise<string> => {
    let response: Response;
    try {
      response = await proxiedFetch(url, {
        headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new TransientTokenFailure(errorMessage(error), { cause: error });
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      throw new TransientTokenFailure(`HTTP ${response.status}`);
    }
    if (!response.ok) {
      // The answer body may echo request details; the status is what the user can act on.
      await response.body?.cancel();
      throw new Error(`GitHub refused the OIDC token request (HTTP ${response.status} ${response.statusText}). The request token may have expired: OIDC tokens can only be requested while the job runs.`);
    }
    const body = (await response.json().catch(() => undefined)) as { value?: unknown } | undefined;
    if (typeof body?.value !== 'string' || body.value === '') {
      throw new Error('GitHub answered the OIDC token request without a token (no `value` in the JSON body).');
    }
    return body.value;
  };
  return retry(requestOnce, {
    attempts,
    isRetryable: (error) => error instanceof TransientTokenFailure,
    delayMs: (retryIndex) => retryDelayMs * 2 ** retryIndex,
    exhaustedError: (error, tried) => new Error(`Could not get a GitHub OIDC token after ${tried} attempts: ${errorMessage(error)}`),
  });
}

/** A 5xx or 429 answer, or a dropped connection: another attempt may succeed. */
class TransientTokenFailure extends Error {
  override name = 'TransientTokenFailure';
}

/**
 * Wraps a token source (such as `core.getIDToken`, which says only "Unable to get
 * ACTIONS_ID_TOKEN_REQUEST_URL env variable") so a missing permission explains how to fix it.
 */
export function explainingMissingPermission(source: IdTokenSource): IdTokenSource {
  return async (audience) => {
    try {
      return await source(audience);
    } catch (error) {
      if (/ACTIONS_ID_TOKEN_REQUEST_URL/.test(errorMessage(error)) && !(error instanceof UserError)) {
        throw missingIdTokenPermissionError();
      }
      throw error;
    }
  };
}
