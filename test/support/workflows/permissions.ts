import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { evaluateToken } from './tokens.js';
import type { Value } from './values.js';

export type Access = 'none' | 'read' | 'write';
/** GITHUB_TOKEN scopes as `permissions:` names them (`contents`, `pull-requests`, `id-token`, …). */
export type Permissions = Record<string, Access>;

export const SCOPES = [
  'actions', 'attestations', 'checks', 'contents', 'deployments', 'discussions', 'id-token', 'issues', 'models',
  'packages', 'pages', 'pull-requests', 'repository-projects', 'security-events', 'statuses',
] as const;

const all = (access: Access): Permissions => Object.fromEntries(SCOPES.map((s) => [s, access === 'write' && s === 'models' ? 'read' : access]));

export const READ_ALL: Permissions = all('read');

/** What a repository with the default "permissive" setting gives a workflow that says nothing. */
export const PERMISSIVE_DEFAULT: Permissions = { ...all('write'), 'id-token': 'none' };

/** A `permissions:` value (`read-all`, `write-all`, `{}` or a mapping) as one level per scope. */
export function parsePermissions(token: TemplateToken, where: string): Permissions {
  const value: Value = evaluateToken(token, { contexts: {}, where: `${where} permissions` });
  if (value === 'read-all') return all('read');
  if (value === 'write-all') return all('write');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: permissions must be read-all, write-all or a mapping, got ${JSON.stringify(value)}`);
  const permissions = all('none');
  for (const [scope, level] of Object.entries(value)) {
    if (!(SCOPES as readonly string[]).includes(scope)) throw new Error(`${where}: unknown permission scope ${scope}`);
    if (level !== 'read' && level !== 'write' && level !== 'none') throw new Error(`${where}: permission ${scope} must be read, write or none, got ${JSON.stringify(level)}`);
    permissions[scope] = level;
  }
  return permissions;
}

const rank: Record<Access, number> = { none: 0, read: 1, write: 2 };

/** Each scope at the lower of the two levels (a pull request from a fork: writes become reads). */
export function intersect(a: Permissions, b: Permissions): Permissions {
  return Object.fromEntries(SCOPES.map((s) => [s, rank[a[s] ?? 'none'] <= rank[b[s] ?? 'none'] ? (a[s] ?? 'none') : (b[s] ?? 'none')]));
}

/**
 * A called workflow's job may ask for no more than the calling job was given: GitHub refuses to
 * start the run otherwise ("The nested job 'deploy' is requesting 'deployments: write', but is only
 * allowed 'deployments: none'"). Returns those complaints, empty when the job fits.
 */
export function excessPermissions(jobName: string, requested: Permissions, allowed: Permissions): string[] {
  return SCOPES.filter((s) => rank[requested[s] ?? 'none'] > rank[allowed[s] ?? 'none']).map(
    (s) => `The nested job '${jobName}' is requesting '${s}: ${requested[s]}', but is only allowed '${s}: ${allowed[s] ?? 'none'}'.`,
  );
}
