import type { Target } from '@aws-sdk/client-ssm';
import type { SsmTarget } from '../../fleet/types.js';
import type { DeployAction } from '../types.js';

/**
 * The `NixOS-Deploy` command document (host/aws/NixOS-Deploy.json) as this code sends it. It takes
 * no keys: what an instance trusts is its own nix.conf, never something ssm:SendCommand can set. The
 * patterns repeat the document's `allowedPattern`s (a unit test keeps them equal), so a bad value
 * is refused here, with the input named, before SSM refuses the whole command.
 */
export const DEPLOY_DOCUMENT_NAME = 'NixOS-Deploy';

/** The document's allowedPattern strings (Java/ECMAScript-compatible). */
export const DOCUMENT_PATTERNS = {
  storePath: '^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$',
  substituters: '^[A-Za-z0-9:/._?=&%+@,~ -]*$',
  executionTimeout: '^[1-9][0-9]{0,5}$',
} as const;

const PATTERNS = Object.fromEntries(Object.entries(DOCUMENT_PATTERNS).map(([k, v]) => [k, new RegExp(v)])) as Record<keyof typeof DOCUMENT_PATTERNS, RegExp>;

/** What the document's exit code means (see its description). */
export const EXIT_CODES = {
  ok: 0,
  unchanged: 1,
  degraded: 4,
  rolledBack: 10,
  rollbackFailed: 11,
  failedNoRollback: 12,
} as const;

export interface DeployParameters {
  system: string;
  substituters: readonly string[];
  action: DeployAction;
  rollback: 'auto' | 'off';
  executionTimeoutSeconds: number;
}

/** SendCommand's `Parameters` for the document. */
export function documentParameters(p: DeployParameters): Record<string, string[]> {
  const substituters = p.substituters.join(' ');
  const timeout = String(Math.ceil(p.executionTimeoutSeconds));
  if (!PATTERNS.storePath.test(p.system)) throw new Error(`store path "${p.system}" is not one the ${DEPLOY_DOCUMENT_NAME} document accepts (example: /nix/store/…-nixos-system-web1-24.11)`);
  if (!PATTERNS.substituters.test(substituters)) throw new Error(`substituters: "${substituters}" has characters the ${DEPLOY_DOCUMENT_NAME} document refuses (quotes, $, backslashes; example: https://cache.example.org)`);
  if (!PATTERNS.executionTimeout.test(timeout)) throw new Error(`execution timeout ${timeout}s is out of range (1 to 999999 seconds)`);
  return {
    storePath: [p.system],
    substituters: [substituters],
    action: [p.action],
    rollback: [p.rollback],
    executionTimeout: [timeout],
  };
}

const INSTANCE_ID = /^(i|mi)-[0-9a-f]{8,17}$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/** Who gets the command: the inventory's instance ids, or its tags (each tag must match). */
export function commandTargets(target: SsmTarget, host: string): { InstanceIds: string[] } | { Targets: Target[] } {
  const ids = target.instanceIds ?? [];
  const tags = Object.entries(target.tags ?? {});
  if (ids.length > 0 && tags.length > 0) throw new Error(`aws-ssm host ${host}: give instance-ids or tags, not both`);
  if (ids.length > 0) {
    const bad = ids.filter((id) => !INSTANCE_ID.test(id));
    if (bad.length > 0) throw new Error(`aws-ssm host ${host}: ${bad.join(', ')} ${bad.length === 1 ? 'is not an instance id' : 'are not instance ids'} (example: i-0123456789abcdef0)`);
    if (ids.length > 50) throw new Error(`aws-ssm host ${host}: SendCommand takes at most 50 instance ids (${ids.length} given); select them by tag`);
    return { InstanceIds: [...ids] };
  }
  if (tags.length === 0) throw new Error(`aws-ssm host ${host}: give instance-ids or tags to send the command to`);
  if (tags.length > 4) throw new Error(`aws-ssm host ${host}: SSM combines at most 5 targets; ${tags.length} tags given`);
  for (const [key] of tags) if (!TAG_KEY.test(key)) throw new Error(`aws-ssm host ${host}: "${key}" is not a tag key`);
  return { Targets: tags.map(([key, value]) => ({ Key: `tag:${key}`, Values: [value] })) };
}
