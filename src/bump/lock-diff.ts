import type { FlakeLock, FlakeRefAttrs, LockNode } from '../nix/index.js';
import { compareUrl, formatFlakeRef, formatLockDate, shortRev } from './flake-ref.js';

/** One locked revision of an input, as a reviewer reads it. */
export interface InputRevision {
  /** The locked reference (`github:NixOS/nixpkgs/<rev>`, `git+https://…?ref=main&rev=…`). */
  locked: string;
  /** What flake.nix asks for (`github:NixOS/nixpkgs/nixos-24.11`). */
  original?: string;
  rev?: string;
  shortRev?: string;
  ref?: string;
  narHash?: string;
  revCount?: number;
  lastModified?: number;
  /** `lastModified` as `YYYY-MM-DD`. */
  date?: string;
}

/**
 * - `updated`: the input is locked to another revision (or source);
 * - `added` / `removed`: the input appears or disappears;
 * - `follows`: the input starts or stops following another input, or follows a different one.
 */
export type InputChangeKind = 'updated' | 'added' | 'removed' | 'follows';

export interface InputChange {
  /** Input path from the flake (`["home-manager", "nixpkgs"]`). */
  path: string[];
  /** The path joined with `/`, as `nix flake lock --update-input` takes it. */
  name: string;
  kind: InputChangeKind;
  /** Reached through another input (an input of an input). */
  transitive: boolean;
  old?: InputRevision;
  new?: InputRevision;
  /** The input path it follows, joined with `/`, before and after (when it follows one). */
  oldFollows?: string;
  newFollows?: string;
  /** GitHub/GitLab compare view (sourcehut: log) between the two revisions. */
  compareUrl?: string;
}

type Entry = { node: LockNode } | { follows: string[] };

/** Inputs deeper than this are not listed (lock files of real fleets are 3–5 levels deep). */
const MAX_DEPTH = 12;

/**
 * Every input reachable from the root, keyed by input path (`a/b`). Node names are not stable
 * between lock files (`nixpkgs_2`), input paths are.
 */
export function lockEntries(lock: FlakeLock): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const walk = (nodeName: string, prefix: string[], stack: Set<string>): void => {
    const node = lock.nodes[nodeName];
    if (!node?.inputs || prefix.length >= MAX_DEPTH) return;
    for (const [input, target] of Object.entries(node.inputs).sort(([a], [b]) => a.localeCompare(b))) {
      const path = [...prefix, input];
      if (Array.isArray(target)) {
        entries.set(path.join('/'), { follows: target });
        continue;
      }
      const child = lock.nodes[target];
      if (!child) continue;
      entries.set(path.join('/'), { node: child });
      if (!stack.has(target)) walk(target, path, new Set([...stack, target]));
    }
  };
  walk(lock.root, [], new Set([lock.root]));
  return entries;
}

export function revisionOf(node: LockNode): InputRevision {
  const locked: FlakeRefAttrs = node.locked ?? { type: 'unknown' };
  const revision: InputRevision = { locked: formatFlakeRef(locked) };
  if (node.original) revision.original = formatFlakeRef(node.original);
  if (locked.rev) {
    revision.rev = locked.rev;
    revision.shortRev = shortRev(locked.rev);
  }
  if (locked.ref) revision.ref = locked.ref;
  if (locked.narHash) revision.narHash = locked.narHash;
  if (typeof locked.revCount === 'number') revision.revCount = locked.revCount;
  if (typeof locked.lastModified === 'number') {
    revision.lastModified = locked.lastModified;
    revision.date = formatLockDate(locked.lastModified);
  }
  return revision;
}

/** Whether two lock nodes pin the same source (ignoring how the lock file names them). */
function samePin(a: LockNode, b: LockNode): boolean {
  return stableJson(a.locked) === stableJson(b.locked) && stableJson(a.original) === stableJson(b.original) && (a.flake ?? true) === (b.flake ?? true);
}

function stableJson(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * What changed between two lock files of one flake, read from their JSON (not from Nix's text):
 * revisions, dates, compare links, `follows`, added and removed inputs, at every depth.
 * Sorted: direct inputs first, then by path.
 */
export function diffLocks(before: FlakeLock, after: FlakeLock): InputChange[] {
  const old = lockEntries(before);
  const now = lockEntries(after);
  const changes: InputChange[] = [];
  for (const key of new Set([...old.keys(), ...now.keys()])) {
    const a = old.get(key);
    const b = now.get(key);
    const path = key.split('/');
    const base = { path, name: key, transitive: path.length > 1 };
    if (a && b) {
      if ('node' in a && 'node' in b) {
        if (samePin(a.node, b.node)) continue;
        const change: InputChange = { ...base, kind: 'updated', old: revisionOf(a.node), new: revisionOf(b.node) };
        const link = compareUrl(a.node.locked, b.node.locked);
        if (link) change.compareUrl = link;
        changes.push(change);
      } else if ('follows' in a && 'follows' in b) {
        if (a.follows.join('/') === b.follows.join('/')) continue;
        changes.push({ ...base, kind: 'follows', oldFollows: a.follows.join('/'), newFollows: b.follows.join('/') });
      } else {
        const change: InputChange = { ...base, kind: 'follows' };
        if ('node' in a) change.old = revisionOf(a.node);
        else change.oldFollows = a.follows.join('/');
        if ('node' in b) change.new = revisionOf(b.node);
        else change.newFollows = b.follows.join('/');
        changes.push(change);
      }
    } else if (b) {
      changes.push('node' in b ? { ...base, kind: 'added', new: revisionOf(b.node) } : { ...base, kind: 'added', newFollows: b.follows.join('/') });
    } else if (a) {
      changes.push('node' in a ? { ...base, kind: 'removed', old: revisionOf(a.node) } : { ...base, kind: 'removed', oldFollows: a.follows.join('/') });
    }
  }
  return changes.sort((x, y) => x.path.length - y.path.length || x.name.localeCompare(y.name));
}

/** The root's direct input names, sorted. */
export function directInputNames(lock: FlakeLock): string[] {
  return Object.keys(lock.nodes[lock.root]?.inputs ?? {}).sort();
}

/**
 * Changes outside what was asked for: an input not under one of `requested` (an update of `a`
 * may move `a/b`, nothing else). An empty request means everything was asked for.
 */
export function unexpectedChanges(changes: readonly InputChange[], requested: readonly string[]): InputChange[] {
  if (requested.length === 0) return [];
  const prefixes = requested.map((r) => r.split('/').filter(Boolean));
  return changes.filter((change) => !prefixes.some((prefix) => prefix.every((part, i) => change.path[i] === part)));
}
