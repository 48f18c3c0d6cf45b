import { UserError, errorMessage } from '../util/errors.js';
import { conditionKeyPrefix, decodeJwtClaims, describeClaims, type TokenClaims } from './jwt-claims.js';

/** The error code of an AWS SDK error (`name` for modelled errors, `Code` for the others). */
function errorCode(error: unknown): string {
  if (error === null || typeof error !== 'object') return '';
  const { Code, name } = error as { Code?: unknown; name?: unknown };
  return String(Code ?? name ?? '');
}

function trustPolicyHint(claims: TokenClaims): string {
  const prefix = conditionKeyPrefix(claims.iss);
  const repository = claims.repository ?? 'ORG/REPO';
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : (claims.aud ?? 'sts.amazonaws.com');
  return [
    `The role's trust policy must allow this token's subject. A statement for this repository looks like:`,
    '',
    `    "Principal": { "Federated": "arn:aws:iam::ACCOUNT:oidc-provider/${prefix}" },`,
    `    "Action": "sts:AssumeRoleWithWebIdentity",`,
    `    "Condition": {`,
    `      "StringEquals": { "${prefix}:aud": "${aud}" },`,
    `      "StringLike": { "${prefix}:sub": "repo:${repository}:environment:production" }`,
    `    }`,
    '',
    `GitHub sets sub to repo:${repository}:environment:NAME when the job has an \`environment:\`,`,
    `repo:${repository}:pull_request for pull requests, and repo:${repository}:ref:refs/heads/BRANCH (or refs/tags/TAG) otherwise.`,
    `Either widen the StringLike pattern (for example "repo:${repository}:*") or run the job from a ref/environment the policy allows.`,
  ].join('\n');
}

/**
 * Turns an STS refusal into a message the user can act on: what the token claimed and which part
 * of the role's trust policy or the IAM identity provider disagreed. Never includes the token.
 */
export function explainAssumeRoleError(error: unknown, token: string, roleArn: string): Error {
  const code = errorCode(error);
  const detail = errorMessage(error).trim().replace(/\.$/, '');
  const claims = decodeJwtClaims(token) ?? {};
  const shown = describeClaims(claims);
  const tokenLines = shown ? `\nThe GitHub OIDC token presented:\n${shown}\n` : '\n';
  const head = `Could not assume ${roleArn} with the GitHub OIDC token (${code || 'error'}: ${detail}).`;

  if (code === 'AccessDenied') {
    return new UserError(`${head}${tokenLines}${trustPolicyHint(claims)}`);
  }
  if (code === 'InvalidIdentityTokenException' || code === 'InvalidIdentityToken') {
    const prefix = conditionKeyPrefix(claims.iss);
    const hint = /audience/i.test(detail)
      ? `The token's aud must be one of the client IDs (audiences) of the IAM OIDC provider for ${prefix} and match the ` +
        `trust policy's "${prefix}:aud" condition; set the action's audience input to that value (usually sts.amazonaws.com).`
      : `Check that the role's account has an IAM OIDC identity provider for ${claims.iss ?? 'https://token.actions.githubusercontent.com'} ` +
        `and that the role's trust policy names it as the Federated principal.`;
    return new UserError(`${head}${tokenLines}${hint}`);
  }
  if (code === 'ExpiredTokenException' || code === 'ExpiredToken') {
    return new UserError(`${head}\nThe OIDC token had expired when STS checked it. A fresh token is requested for every attempt, so check the runner's clock.`);
  }
  if (code === 'ValidationError' && /DurationSeconds/i.test(detail)) {
    return new UserError(`${head}\nLower role-duration-seconds, or raise the role's MaxSessionDuration in IAM.`);
  }
  return new Error(`${head}${tokenLines}`.trimEnd(), { cause: error });
}
