import { inspect } from 'node:util';
import { systemClock, type Clock } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import type { Log } from '../util/log.js';
import type { IdTokenSource } from './id-token.js';
import { assumeRoleWithWebIdentity, validateAssumeRoleOptions, type AssumeRoleOptions, type AssumedRole, type TemporaryCredentials } from './sts.js';

export interface RefreshingCredentialsOptions extends AssumeRoleOptions {
  /** Fetch new credentials this long before they expire (default 300 s, as the AWS SDK does). */
  refreshBeforeExpirySeconds?: number;
}

export interface RefreshingCredentialsDeps {
  /** Receives the OIDC token, access key id, secret access key and session token (for `core.setSecret`). */
  onSecret: (value: string) => void;
  /** `core.getIDToken` in the runner; the direct HTTP request otherwise. */
  getIdToken?: IdTokenSource;
  clock?: Clock;
  /** Progress lines (role session ARN, expiry). Never receives a secret. */
  log?: Log;
  env?: NodeJS.ProcessEnv;
}

/**
 * An AWS SDK credentials provider (AwsCredentialIdentityProvider). `memoized` tells the SDK not to
 * wrap it in its own cache, so every request asks this holder and refreshes follow our clock.
 */
export interface RefreshingCredentialsProvider {
  (): Promise<TemporaryCredentials>;
  readonly memoized: true;
  /** The session held now (ARN and expiry only), for logs; undefined before the first call. */
  session(): { assumedRoleArn: string; expiration: Date } | undefined;
}

const REDACTED = '[AWS credentials: redacted]';
const RETRY_PAUSE_MS = 30_000;

/** A credentials object that prints as a placeholder if anything ever logs or serializes it. */
function redacted(credentials: TemporaryCredentials): TemporaryCredentials {
  const copy = { ...credentials };
  Object.defineProperty(copy, 'toJSON', { value: () => REDACTED, enumerable: false });
  Object.defineProperty(copy, inspect.custom, { value: () => REDACTED, enumerable: false });
  return copy;
}

/**
 * Holds role credentials in memory only and refreshes them (new OIDC token, new STS call) shortly
 * before they expire. Nothing is written to the environment, files, outputs or logs.
 */
export function createRefreshingCredentials(options: RefreshingCredentialsOptions, deps: RefreshingCredentialsDeps): RefreshingCredentialsProvider {
  const env = deps.env ?? process.env;
  const valid = validateAssumeRoleOptions(options, env);
  const clock = deps.clock ?? systemClock;
  const refreshBeforeMs = (options.refreshBeforeExpirySeconds ?? 300) * 1000;
  let current: AssumedRole | undefined;
  let inFlight: Promise<AssumedRole> | undefined;
  /** After a failed refresh, valid credentials are served without retrying until this time. */
  let quietUntil = 0;

  const refresh = (): Promise<AssumedRole> => {
    inFlight ??= (async () => {
      // A client per refresh (about hourly) leaves no sockets open between refreshes.
      const assumed = await assumeRoleWithWebIdentity(valid, {
        env,
        onSecret: deps.onSecret,
        ...(deps.getIdToken ? { getIdToken: deps.getIdToken } : {}),
      });
      deps.log?.info(`AWS credentials for ${assumed.assumedRoleArn}, valid until ${assumed.credentials.expiration.toISOString()}`);
      current = assumed;
      return assumed;
    })().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const provider = async (): Promise<TemporaryCredentials> => {
    const now = clock.now().getTime();
    if (!current) return redacted((await refresh()).credentials);
    const expires = current.credentials.expiration.getTime();
    if (now < expires - refreshBeforeMs || (now < quietUntil && now < expires)) return redacted(current.credentials);
    try {
      return redacted((await refresh()).credentials);
    } catch (error) {
      // Still-valid credentials beat a failed refresh; retry after a pause rather than on every request.
      if (now < expires) {
        quietUntil = now + RETRY_PAUSE_MS;
        deps.log?.warning(`Refreshing AWS credentials failed; using the current ones until ${current.credentials.expiration.toISOString()}: ${errorMessage(error)}`);
        return redacted(current.credentials);
      }
      throw error;
    }
  };

  return Object.assign(provider, {
    memoized: true as const,
    session: () => (current ? { assumedRoleArn: current.assumedRoleArn, expiration: current.credentials.expiration } : undefined),
  });
}
