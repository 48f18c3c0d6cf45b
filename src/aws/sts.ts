import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DEFAULT_AUDIENCE, explainingMissingPermission, getWebIdentityToken, type IdTokenSource } from './id-token.js';
import { awsEndpointOf, awsRequestHandler, AWS_SERVICES } from './request-handler.js';
import { explainAssumeRoleError } from './sts-errors.js';
import { defaultSessionName, parseRoleArn, validateDurationSeconds, validateRegion, validateSessionName } from './validate.js';

/** Short-lived credentials from STS. Held in memory only. */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** The same shape the AWS SDK accepts as `credentials` (AwsCredentialIdentityProvider). */
export type AwsCredentialsProvider = () => Promise<TemporaryCredentials>;

export interface AssumeRoleOptions {
  /** `arn:aws:iam::123456789012:role/NAME`. */
  roleArn: string;
  region: string;
  /** The token's `aud`; must be a client ID of the IAM OIDC provider. Default sts.amazonaws.com. */
  audience?: string;
  /** 900 to 43200; default 3600. */
  durationSeconds?: number;
  /** Shows in CloudTrail; default `fleet-<run id>-<attempt>`. */
  sessionName?: string;
  /** STS endpoint; default AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, then AWS's own. */
  endpoint?: string;
}

export interface StsDeps {
  /** `core.getIDToken` in the runner; the direct HTTP request otherwise. */
  getIdToken?: IdTokenSource;
  /** Called with every secret (token, key id, secret key, session token) before it is used. */
  onSecret?: (value: string) => void;
  /** Read for AWS_ENDPOINT_URL_STS and GITHUB_RUN_ID; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** A client to reuse (the refreshing holder keeps one). */
  client?: STSClient;
}

export interface AssumedRole {
  credentials: TemporaryCredentials;
  /** `arn:aws:sts::123456789012:assumed-role/NAME/SESSION`: safe to log. */
  assumedRoleArn: string;
  subject?: string;
  audience?: string;
  provider?: string;
}

export interface ValidatedAssumeRoleOptions {
  roleArn: string;
  region: string;
  audience: string;
  durationSeconds: number;
  sessionName: string;
  endpoint: string | undefined;
}

/** Validates every option before anything is requested, so a typo fails without side effects. */
export function validateAssumeRoleOptions(options: AssumeRoleOptions, env: NodeJS.ProcessEnv = process.env): ValidatedAssumeRoleOptions {
  parseRoleArn(options.roleArn);
  const audience = options.audience?.trim() || DEFAULT_AUDIENCE;
  return {
    roleArn: options.roleArn.trim(),
    region: validateRegion(options.region),
    audience,
    durationSeconds: validateDurationSeconds(options.durationSeconds ?? 3600),
    sessionName: options.sessionName ? validateSessionName(options.sessionName) : defaultSessionName(env),
    endpoint: stsEndpoint(options.endpoint, env),
  };
}

/** The endpoint the SDK would use for STS, made explicit so tests and users see one rule. */
export function stsEndpoint(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return explicit?.trim() || env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || undefined;
}

export function createStsClient(options: { region: string; endpoint?: string | undefined; credentials?: AwsCredentialsProvider }): STSClient {
  return new STSClient({
    region: options.region,
    requestHandler: awsRequestHandler(awsEndpointOf(AWS_SERVICES.sts, options.region, options.endpoint)),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

/** Trades a fresh GitHub OIDC token for role credentials (sts:AssumeRoleWithWebIdentity). */
export async function assumeRoleWithWebIdentity(options: AssumeRoleOptions, deps: StsDeps = {}): Promise<AssumedRole> {
  const env = deps.env ?? process.env;
  const valid = validateAssumeRoleOptions(options, env);
  const getIdToken = explainingMissingPermission(deps.getIdToken ?? ((audience) => getWebIdentityToken(audience, { env })));
  const token = await getIdToken(valid.audience);
  deps.onSecret?.(token);

  const client = deps.client ?? createStsClient(valid);
  try {
    const answer = await client
      .send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: valid.roleArn,
          RoleSessionName: valid.sessionName,
          WebIdentityToken: token,
          DurationSeconds: valid.durationSeconds,
        }),
      )
      .catch((error: unknown) => {
        throw explainAssumeRoleError(error, token, valid.roleArn);
      });
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error(`STS answered AssumeRoleWithWebIdentity for ${valid.roleArn} without complete credentials.`);
    }
    for (const secret of [c.AccessKeyId, c.SecretAccessKey, c.SessionToken]) deps.onSecret?.(secret);
    return {
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration },
      assumedRoleArn: answer.AssumedRoleUser?.Arn ?? valid.roleArn,
      ...(answer.SubjectFromWebIdentityToken ? { subject: answer.SubjectFromWebIdentityToken } : {}),
      ...(answer.Audience ? { audience: answer.Audience } : {}),
      ...(answer.Provider ? { provider: answer.Provider } : {}),
    };
  } finally {
    if (!deps.client) client.destroy();
  }
}

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** Who the credentials act as (sts:GetCallerIdentity): an ARN for logs, never a secret. */
export async function describeIdentity(
  credentials: AwsCredentialsProvider,
  options: { region: string; endpoint?: string; env?: NodeJS.ProcessEnv },
): Promise<CallerIdentity> {
  const client = createStsClient({ region: options.region, endpoint: stsEndpoint(options.endpoint, options.env), credentials });
  try {
    const answer = await client.send(new GetCallerIdentityCommand({}));
    return { arn: answer.Arn ?? '', account: answer.Account ?? '', userId: answer.UserId ?? '' };
  } finally {
    client.destroy();
  }
}
