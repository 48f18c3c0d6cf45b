/** What the workflow's token may do, like a `permissions:` block plus the repository's Actions settings. */
export type Access = 'none' | 'read' | 'write';

export interface TokenPermissions {
  contents: Access;
  pullRequests: Access;
  issues: Access;
  deployments: Access;
  statuses: Access;
  /**
   * The "Allow GitHub Actions to create and approve pull requests" setting. Off, GitHub refuses
   * to open pull requests with the workflow token even when it has `pull-requests: write`.
   */
  allowActionsToCreatePullRequests: boolean;
}

export type PermissionScope = Exclude<keyof TokenPermissions, 'allowActionsToCreatePullRequests'>;

/** A route needs one of these grants (issue routes accept either issues or pull-requests). */
export type PermissionRequirement = Partial<Record<PermissionScope, 'read' | 'write'>>;

export const defaultTokenPermissions: TokenPermissions = {
  contents: 'write',
  pullRequests: 'write',
  issues: 'write',
  deployments: 'write',
  statuses: 'write',
  allowActionsToCreatePullRequests: true,
};

const rank: Record<Access, number> = { none: 0, read: 1, write: 2 };

/** A single requirement is satisfied by any of its grants; a list needs every requirement. */
export function grants(permissions: TokenPermissions, requirement: PermissionRequirement | PermissionRequirement[]): boolean {
  if (Array.isArray(requirement)) return requirement.every((r) => grants(permissions, r));
  const alternatives = Object.entries(requirement) as Array<[PermissionScope, 'read' | 'write']>;
  return alternatives.length === 0 || alternatives.some(([scope, level]) => rank[permissions[scope]] >= rank[level]);
}

export const integrationForbiddenMessage = 'Resource not accessible by integration';
export const actionsCannotCreatePullRequestsMessage = 'GitHub Actions is not permitted to create or approve pull requests.';

const headerName: Record<PermissionScope, string> = { contents: 'contents', pullRequests: 'pull_requests', issues: 'issues', deployments: 'deployments', statuses: 'statuses' };

/**
 * GitHub's X-Accepted-GitHub-Permissions for a refused route: the sets of grants that would each do,
 * `;`-separated, a set's grants `,`-separated (every requirement of a list, by its first grant).
 */
export function acceptedPermissions(requirement: PermissionRequirement | PermissionRequirement[]): string {
  const entries = (r: PermissionRequirement) => Object.entries(r) as Array<[PermissionScope, 'read' | 'write']>;
  if (Array.isArray(requirement)) return requirement.map((r) => entries(r).slice(0, 1).map(([scope, level]) => `${headerName[scope]}=${level}`)).join(',');
  return entries(requirement).map(([scope, level]) => `${headerName[scope]}=${level}`).join('; ');
}
