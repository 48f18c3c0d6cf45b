import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_SYSTEM, deploySchema, inventorySchema, type InventoryDocument } from './schema.js';
import { FLEET_STORE_DIRECTORIES } from './store-layout.js';
import type { DeployTarget, Host, Inventory, SshTarget, Wave } from './types.js';
import { InputError, shown } from '../runner/inputs.js';
import { fileErrorReason } from '../util/errors.js';

export class InventoryError extends Error {
  override name = 'InventoryError';
}

/** The error for an inventory file that cannot be read: it names the input that gave the path. */
export function unreadableInventory(spec: string, error: unknown, dir = process.cwd()): InputError {
  return new InputError('inventory', `${shown(spec)} cannot be read: ${fileErrorReason(error)} (in ${dir})`, 'fleet.yaml (or flake#attribute)');
}

/** Reads `fleet.yaml` / `fleet.json`. */
export async function readInventoryFile(path: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadableInventory(path, error);
  }
  return parseInventoryText(text, path);
}

export function parseInventoryText(text: string, source: string): Inventory {
  let document: unknown;
  try {
    document = extname(source) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InventoryError(`${source} is not valid ${extname(source) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  return parseInventory(document, source);
}

/** Validates a parsed document (from a file or `nix eval --json`) into an Inventory. */
export function parseInventory(document: unknown, source: string): Inventory {
  const parsed = inventorySchema.safeParse(document);
  if (!parsed.success) throw new InventoryError(describeIssues(source, parsed.error.issues, document));
  const inventory = toInventory(parsed.data, source);
  const problems = crossCheck(inventory);
  if (problems.length > 0) throw new InventoryError(`${source}: ${problems.join('\n')}`);
  return inventory;
}

function describeIssues(source: string, issues: z.core.$ZodIssue[], document: unknown): string {
  const lines = issues.slice(0, 10).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `${where}: ${issueText(issue, document)}`;
  });
  const more = issues.length > 10 ? `\n…and ${issues.length - 10} more` : '';
  return `${source} is not a valid inventory:\n${lines.join('\n')}${more}`;
}

/** What is wrong at an issue's path, showing the value found there (zod's own text does not). */
function issueText(issue: z.core.$ZodIssue, document: unknown): string {
  const value = issue.path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined), document);
  const shownValue = value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 80);
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) return `${shownValue} is not one of ${issue.options.join(', ')}`;
  if (issue.code === 'invalid_value') return `${shownValue} is not one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_type') return value === undefined ? `is required (a ${issue.expected})` : `${shownValue} is not a ${issue.expected}`;
  // Our own checks (durations, quorums) already show the value.
  return value === undefined || typeof value === 'object' || issue.code === 'custom' ? issue.message : `${shownValue}: ${issue.message}`;
}

function toInventory(document: InventoryDocument, source: string): Inventory {
  const environments = Object.fromEntries(
    Object.entries(document.environments).map(([name, env]) => [name, { name, allowedRefs: env['allowed-refs'], protected: env.protected }]),
  );
  const waves = Object.fromEntries(
    Object.entries(document.waves).map(([name, wave]): [string, Wave] => [
      name,
      { name, order: wave.order, soakMs: wave.soak, quorum: wave.quorum, ...(wave.channel ? { channel: wave.channel } : {}) },
    ]),
  );
  const hosts = Object.fromEntries(
    Object.entries(document.hosts).map(([name, host]): [string, Host] => {
      const environment = host.environment ?? document.defaults.environment;
      const wave = host.wave ?? document.defaults.wave;
      return [
        name,
        {
          name,
          attribute: host.attribute ?? name,
          system: host.system ?? document.defaults.system ?? DEFAULT_SYSTEM,
          environment: environment ?? '',
          ...(wave ? { wave } : {}),
          tags: host.tags,
          deploy: toDeployTarget(name, withDefaults(document.defaults.deploy, host.deploy), source),
        },
      ];
    }),
  );
  return { environments, waves, hosts, holds: document.holds, pinned: document.pinned, source };
}

/** Defaults apply to hosts deployed the same way; a pull host takes no ssh user from them. */
function withDefaults(defaults: Record<string, unknown> = {}, own: Record<string, unknown> = {}): Record<string, unknown> {
  const sameMethod = (own.method ?? defaults.method) === (defaults.method ?? 'ssh');
  return sameMethod ? { ...defaults, ...own } : own;
}

/** An ssh target with the defaults: the host's name, port 22, root. */
function sshTarget(hostName: string, raw: { host?: string | undefined; port?: number | undefined; user?: string | undefined; jump?: string | undefined }): SshTarget {
  return { method: 'ssh', host: raw.host ?? hostName, port: raw.port ?? 22, user: raw.user ?? 'root', ...(raw.jump ? { jump: raw.jump } : {}) };
}

function toDeployTarget(hostName: string, raw: Record<string, unknown>, source: string): DeployTarget {
  const withMethod = { method: 'ssh', ...raw };
  const parsed = deploySchema.safeParse(withMethod);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['hosts', hostName, 'deploy', ...(issue?.path ?? [])].join('.');
    throw new InventoryError(`${source}: ${where}: ${issue ? issueText(issue, withMethod) : 'invalid deploy target'}`);
  }
  const target = parsed.data;
  switch (target.method) {
    case 'ssh':
      return sshTarget(hostName, target);
    case 'pull':
      return { method: 'pull', ...(target.ssh ? { ssh: sshTarget(hostName, target.ssh) } : {}) };
    case 'aws-asg':
      return {
        method: 'aws-asg',
        autoScalingGroup: target['auto-scaling-group'],
        launchTemplate: target['launch-template'],
        ...(target.region ? { region: target.region } : {}),
      };
    case 'aws-ssm':
      return {
        method: 'aws-ssm',
        ...(target['instance-ids'] ? { instanceIds: target['instance-ids'] } : {}),
        ...(target.tags ? { tags: target.tags } : {}),
        ...(target.region ? { region: target.region } : {}),
      };
  }
}

function crossCheck(inventory: Inventory): string[] {
  const problems: string[] = [];
  const known = (names: Record<string, unknown>) => Object.keys(names).join(', ') || '(none defined)';
  // Manifests live at fleet/<environment>/<host>.json in the store, beside fleet's own directories.
  for (const environment of Object.keys(inventory.environments).filter((e) => FLEET_STORE_DIRECTORIES.includes(e))) {
    problems.push(`environments.${environment}: is a directory fleet keeps in the store (${FLEET_STORE_DIRECTORIES.join(', ')}): pick another environment name`);
  }
  for (const host of Object.values(inventory.hosts)) {
    if (!host.environment) {
      problems.push(`hosts.${host.name}.environment: missing; known: ${known(inventory.environments)}`);
    } else if (!inventory.environments[host.environment]) {
      problems.push(`hosts.${host.name}.environment: unknown environment "${host.environment}"; known: ${known(inventory.environments)}`);
    }
    if (host.wave && !inventory.waves[host.wave]) {
      problems.push(`hosts.${host.name}.wave: unknown wave "${host.wave}"; known: ${known(inventory.waves)}`);
    }
    const aws = host.deploy.method === 'aws-ssm' ? host.deploy : undefined;
    if (aws && !aws.instanceIds && !aws.tags) {
      problems.push(`hosts.${host.name}.deploy: aws-ssm needs instance-ids or tags`);
    }
  }
  inventory.holds.forEach((hold, index) => {
    for (const wave of hold.waves ?? []) {
      if (!inventory.waves[wave]) problems.push(`holds.${index}.waves: unknown wave "${wave}"; known: ${known(inventory.waves)}`);
    }
  });
  const orders = new Map<number, string>();
  for (const wave of Object.values(inventory.waves)) {
    const clash = orders.get(wave.order);
    if (clash) problems.push(`waves.${wave.name}.order: ${wave.order} is also the order of wave "${clash}"`);
    orders.set(wave.order, wave.name);
  }
  return problems;
}

/** Waves sorted by their order. */
export function orderedWaves(inventory: Inventory): Wave[] {
  return Object.values(inventory.waves).sort((a, b) => a.order - b.order);
}
