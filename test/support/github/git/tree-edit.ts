import type { GitRunner } from './git.js';
import { readTree, writeTree, type TreeEntry } from './objects.js';

/** One change of POST /git/trees: put an object at a path, or delete the path (`sha: null`). */
export interface TreeChange {
  path: string;
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string | null;
}

export class TreeEditError extends Error {}

function splitPath(path: string): string[] {
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p === '.git')) throw new TreeEditError(`invalid tree path "${path}"`);
  return parts;
}

/**
 * Applies changes on top of an optional base tree and writes the resulting trees bottom-up.
 * Only the directories the changes touch are read and rewritten. Returns undefined when the
 * result would be an empty subtree (git does not keep empty directories).
 */
export async function editTree(git: GitRunner, baseTree: string | undefined, changes: readonly TreeChange[]): Promise<string> {
  const sha = await editLevel(git, baseTree, changes.map((c) => ({ ...c, parts: splitPath(c.path) })), true);
  return sha as string;
}

type PendingChange = TreeChange & { parts: string[] };

async function editLevel(git: GitRunner, baseTree: string | undefined, changes: PendingChange[], root: boolean): Promise<string | undefined> {
  const entries = new Map<string, TreeEntry>();
  if (baseTree) for (const entry of await readTree(git, baseTree)) entries.set(entry.path, entry);

  const nested = new Map<string, PendingChange[]>();
  for (const change of changes) {
    const [name, ...rest] = change.parts as [string, ...string[]];
    if (rest.length === 0) {
      if (change.sha === null) entries.delete(name);
      else entries.set(name, { mode: change.mode, type: change.type, sha: change.sha, path: name });
    } else {
      const list = nested.get(name) ?? [];
      list.push({ ...change, parts: rest });
      nested.set(name, list);
    }
  }
  for (const [name, list] of nested) {
    const existing = entries.get(name);
    if (existing && existing.type !== 'tree') {
      // A file is replaced by a directory of the same name, as git would do.
      entries.delete(name);
    }
    const subtree = await editLevel(git, existing?.type === 'tree' ? existing.sha : undefined, list, false);
    if (subtree) entries.set(name, { mode: '040000', type: 'tree', sha: subtree, path: name });
    else entries.delete(name);
  }
  if (entries.size === 0 && !root) return undefined;
  return writeTree(git, [...entries.values()]);
}
