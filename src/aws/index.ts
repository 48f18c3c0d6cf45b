export { DEFAULT_AUDIENCE, explainingMissingPermission, getWebIdentityToken, missingIdTokenPermissionError, type GetWebIdentityTokenOptions, type IdTokenSource } from './id-token.js';
export { conditionKeyPrefix, decodeJwtClaims, describeClaims, type TokenClaims } from './jwt-claims.js';
export { defaultSessionName, parseRoleArn, validateDurationSeconds, validateRegion, validateSessionName, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, type RoleArnParts } from './validate.js';
export {
  assumeRoleWithWebIdentity,
  createStsClient,
  describeIdentity,
  stsEndpoint,
  validateAssumeRoleOptions,
  type AssumeRoleOptions,
  type AssumedRole,
  type AwsCredentialsProvider,
  type CallerIdentity,
  type StsDeps,
  type TemporaryCredentials,
  type ValidatedAssumeRoleOptions,
} from './sts.js';
export { explainAssumeRoleError } from './sts-errors.js';
export { createRefreshingCredentials, type RefreshingCredentialsDeps, type RefreshingCredentialsOptions, type RefreshingCredentialsProvider } from './credentials.js';
