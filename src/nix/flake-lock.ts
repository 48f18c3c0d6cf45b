import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A flake reference in attribute form, as flake.lock stores it (`type` plus type-specific fields). */
export interface FlakeRefAttrs {
  type: string;
  owner?: string;
  repo?: string;
  ref?: string;
  rev?: string;
  url?: string;
  path?: string;
  dir?: string;
  narHash?: string;
  lastModified?: number;
  revCount?: number;
  host?: string;
  submodules?: boolean;
  shallow?: boolean;
  [key: string]: unknown;
}

/** An input either names a node, or follows a path of input names from the root (`["nixpkgs"]`). */
export type LockInputTarget = string | string[];

export interface LockNode {
  inputs?: Record<string, LockInputTarget>;
  locked?: FlakeRefAttrs;
  original?: FlakeRefAttrs;
  /** `false` for `flake = false` inputs (plain sources). */
  flake?: boolean;
  /** Inputs resolved through a parent flake's lock (Nix 2.26+). */
  parent?: string[];
}

/** flake.lock, version 7 (Nix 2.7+; older versions 5 and 6 read the same way). */
export interface FlakeLock {
  version: number;
  root: string;
  nodes: Record<string, LockNode>;
}

function fail(message: string): never {
  throw new Error(`flake.lock is not valid: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseRef(value: unknown, where: string): FlakeRefAttrs {
  if (!isObject(value) || typeof value.type !== 'string') fail(`${where} must be an object with a "type"`);
  return value as FlakeRefAttrs;
}

/** Parses and checks flake.lock text. */
export function parseFlakeLock(text: string): FlakeLock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(raw)) fail('expected an object');
  if (typeof raw.version !== 'number') fail('missing "version"');
  if (raw.version < 5 || raw.version > 7) fail(`version ${raw.version} is not supported (expected 5 to 7)`);
  if (!isObject(raw.nodes)) fail('missing "nodes"');
  const root = typeof raw.root === 'string' ? raw.root : 'root';
  const nodes: Record<string, LockNode> = {};
  for (const [name, value] of Object.entries(raw.nodes)) {
    if (!isObject(value)) fail(`node "${name}" must be an object`);
    const node: LockNode = {};
    if (value.inputs !== undefined) {
      if (!isObject(value.inputs)) fail(`node "${name}".inputs must be an object`);
      node.inputs = {};
      for (const [input, target] of Object.entries(value.inputs)) {
        const ok = typeof target === 'string' || (Array.isArray(target) && target.every((t) => typeof t === 'string'));
        if (!ok) fail(`node "${name}" input "${input}" must be a node name or a follows path`);
        node.inputs[input] = target as LockInputTarget;
      }
    }
    if (value.locked !== undefined) node.locked = parseRef(value.locked, `node "${name}".locked`);
    if (value.original !== undefined) node.original = parseRef(value.original, `node "${name}".original`);
    if (value.flake === false) node.flake = false;
    if (Array.isArray(value.parent)) node.parent = value.parent.map(String);
    nodes[name] = node;
  }
  if (!nodes[root]) fail(`root node "${root}" is missing`);
  for (const [name, node] of Object.entries(nodes)) {
    for (const [input, target] of Object.entries(node.inputs ?? {})) {
      if (typeof target === 'string' && !nodes[target]) fail(`node "${name}" input "${input}" points to missing node "${target}"`);
    }
  }
  return { version: raw.version, root, nodes };
}

/** Reads `flake.lock` from a file path or from a flake directory. */
export async function readLock(path: string): Promise<FlakeLock> {
  const file = (await stat(path)).isDirectory() ? join(path, 'flake.lock') : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message} (run \`nix flake lock\` to create it)`, { cause: error });
  }
  try {
    return parseFlakeLock(text);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Follows an input path from the root (`["home-manager", "nixpkgs"]`) to the node it ends at,
 * resolving `follows` targets (paths from the root) along the way. Returns the node's name.
 */
export function resolveLockInput(lock: FlakeLock, path: readonly string[], depth = 0): string | undefined {
  if (depth > 32) throw new Error(`flake.lock follows ${JSON.stringify(path)} loop`);
  let current = lock.root;
  for (const input of path) {
    const target = lock.nodes[current]?.inputs?.[input];
    if (target === undefined) return undefined;
    const next = typeof target === 'string' ? target : resolveLockInput(lock, target, depth + 1);
    if (next === undefined) return undefined;
    current = next;
  }
  return current;
}

/** The root's direct inputs: input name → the node it resolves to (follows resolved). */
export function rootInputs(lock: FlakeLock): Record<string, string> {
  const out: Record<string, string> = {};
  for (const input of Object.keys(lock.nodes[lock.root]?.inputs ?? {})) {
    const node = resolveLockInput(lock, [input]);
    if (node !== undefined) out[input] = node;
  }
  return out;
}

/** `nix flake metadata --json`, the fields every Nix version prints. */
export interface FlakeMetadata {
  description?: string;
  /** The flake's source in the store. */
  path: string;
  url: string;
  originalUrl: string;
  resolvedUrl?: string;
  locked: FlakeRefAttrs;
  original: FlakeRefAttrs;
  revision?: string;
  lastModified?: number;
  locks: FlakeLock;
}

export function parseFlakeMetadata(text: string): FlakeMetadata {
  const raw = JSON.parse(text) as Record<string, unknown>;
  if (!isObject(raw) || typeof raw.path !== 'string' || typeof raw.url !== 'string') {
    throw new Error('nix flake metadata --json printed no "path" and "url"');
  }
  const meta: FlakeMetadata = {
    path: raw.path,
    url: raw.url,
    originalUrl: typeof raw.originalUrl === 'string' ? raw.originalUrl : raw.url,
    locked: parseRef(raw.locked, 'metadata.locked'),
    original: parseRef(raw.original, 'metadata.original'),
    locks: parseFlakeLock(JSON.stringify(raw.locks ?? { version: 7, root: 'root', nodes: { root: {} } })),
  };
  if (typeof raw.description === 'string') meta.description = raw.description;
  if (typeof raw.resolvedUrl === 'string') meta.resolvedUrl = raw.resolvedUrl;
  if (typeof raw.revision === 'string') meta.revision = raw.revision;
  if (typeof raw.lastModified === 'number') meta.lastModified = raw.lastModified;
  return meta;
}
