/** The GitHub OIDC claims worth showing when AWS refuses a token. */
export interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  repository?: string;
  ref?: string;
  environment?: string;
  job_workflow_ref?: string;
  event_name?: string;
  exp?: number;
  [claim: string]: unknown;
}

/**
 * Reads a JWT's payload without verifying it: only for explaining a refusal to the user,
 * never for deciding anything.
 */
export function decodeJwtClaims(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as TokenClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** `https://token.actions.githubusercontent.com` → `token.actions.githubusercontent.com`, the IAM condition key prefix. */
export function conditionKeyPrefix(issuer: string | undefined): string {
  return (issuer ?? 'https://token.actions.githubusercontent.com').replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

const SHOWN_CLAIMS = ['sub', 'aud', 'repository', 'ref', 'environment', 'job_workflow_ref', 'event_name'] as const;

/** The claims a trust policy usually tests, one `name: value` line each. */
export function describeClaims(claims: TokenClaims): string {
  return SHOWN_CLAIMS.filter((name) => claims[name] !== undefined && claims[name] !== '')
    .map((name) => {
      const value = claims[name];
      return `  ${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`;
    })
    .join('\n');
}
