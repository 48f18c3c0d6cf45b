import * as core from '@actions/core';
import { createRefreshingCredentials, explainingMissingPermission, type RefreshingCredentialsProvider } from '../aws/index.js';
import { actionLog } from './log.js';

export interface RoleRequest {
  roleToAssume: string;
  region: string;
  audience: string;
  durationSeconds: number;
}

/**
 * Role credentials for this process only: from the job's OIDC token through STS, masked,
 * refreshed before expiry, never exported to later steps.
 */
export function assumeRoleForThisStep(request: RoleRequest): RefreshingCredentialsProvider {
  return createRefreshingCredentials(
    { roleArn: request.roleToAssume, region: request.region, audience: request.audience, durationSeconds: request.durationSeconds },
    { getIdToken: explainingMissingPermission((audience) => core.getIDToken(audience)), onSecret: (value) => core.setSecret(value), log: actionLog },
  );
}
