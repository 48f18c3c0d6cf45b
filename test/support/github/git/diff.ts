import type { GitRunner } from './git.js';
import { emptyTreeSha } from './objects.js';

export interface FileChange {
  filename: string;
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  /** The blob after the change; null for removals (GitHub's `sha` of a diff entry). */
  sha: string | null;
  additions: number;
  deletions: number;
  changes: number;
  patch?: string;
}

const statusByLetter: Record<string, FileChange['status']> = { A: 'added', D: 'removed', M: 'modified', T: 'changed' };

/** Files that differ between two trees (no rename detection), with line counts and patches. */
export function diffTrees(git: GitRunner, from: string | undefined, to: string): Promise<FileChange[]> {
  const base = from ?? emptyTreeSha;
  // Trees are named by sha, so their difference never changes.
  return git.memo(`diff:${base}:${to}`, () => diff(git, base, to));
}

async function diff(git: GitRunner, base: string, to: string): Promise<FileChange[]> {
  const [raw, numstat, patch] = await Promise.all([
    git.run(['diff-tree', '-r', '-z', '--no-renames', '--raw', base, to]),
    git.run(['diff-tree', '-r', '-z', '--no-renames', '--numstat', base, to]),
    git.run(['diff-tree', '-r', '--no-renames', '--patch', '--no-color', '--full-index', base, to]),
  ]);

  const counts = new Map<string, { additions: number; deletions: number }>();
  for (const record of numstat.stdout.toString('utf8').split('\0').filter(Boolean)) {
    const [add, del, path] = record.split('\t') as [string, string, string];
    counts.set(path, { additions: add === '-' ? 0 : Number(add), deletions: del === '-' ? 0 : Number(del) });
  }

  const patches = new Map<string, string>();
  for (const chunk of patch.stdout.toString('utf8').split(/^(?=diff --git )/m)) {
    const header = /^diff --git a\/(.*) b\/(.*)$/m.exec(chunk);
    const hunk = chunk.indexOf('\n@@');
    if (header && hunk !== -1) patches.set(header[2] as string, chunk.slice(hunk + 1).replace(/\n$/, ''));
  }

  const fields = raw.stdout.toString('utf8').split('\0');
  const changes: FileChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i] as string;
    const filename = fields[i + 1] as string;
    if (!meta.startsWith(':')) break;
    const [, , , newSha, letter] = meta.slice(1).split(' ') as [string, string, string, string, string];
    const status = statusByLetter[letter[0] as string] ?? 'modified';
    const count = counts.get(filename) ?? { additions: 0, deletions: 0 };
    const change: FileChange = { filename, status, sha: status === 'removed' ? null : newSha, ...count, changes: count.additions + count.deletions };
    const text = patches.get(filename);
    if (text !== undefined) change.patch = text;
    changes.push(change);
  }
  return changes;
}
