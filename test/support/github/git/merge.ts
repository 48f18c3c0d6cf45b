import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitRunner } from './git.js';
import { readBlob, readTree, writeBlob, writeTree, type TreeEntry } from './objects.js';

export type TreeMergeResult = { clean: true; tree: string } | { clean: false; conflicts: string[] };

const regularFile = (e: TreeEntry | undefined): e is TreeEntry => e?.type === 'blob' && (e.mode === '100644' || e.mode === '100755');
const same = (a: TreeEntry | undefined, b: TreeEntry | undefined): boolean => (!a && !b) || (!!a && !!b && a.sha === b.sha && a.mode === b.mode);

async function entriesOf(git: GitRunner, tree: string | undefined): Promise<Map<string, TreeEntry>> {
  const map = new Map<string, TreeEntry>();
  if (tree) for (const e of await readTree(git, tree)) map.set(e.path, e);
  return map;
}

/** Line-level three-way merge of one file with `git merge-file`; undefined on conflict. */
async function mergeFile(git: GitRunner, base: TreeEntry | undefined, ours: TreeEntry, theirs: TreeEntry): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-emulator-merge-'));
  try {
    const files = { ours: join(dir, 'ours'), base: join(dir, 'base'), theirs: join(dir, 'theirs') };
    await writeFile(files.ours, await readBlob(git, ours.sha));
    await writeFile(files.base, regularFile(base) ? await readBlob(git, base.sha) : Buffer.alloc(0));
    await writeFile(files.theirs, await readBlob(git, theirs.sha));
    const result = await git.run(['merge-file', '-p', files.ours, files.base, files.theirs], { allowFailure: true });
    if (result.code !== 0) return undefined;
    return writeBlob(git, result.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function mergeLevel(git: GitRunner, base: string | undefined, ours: string | undefined, theirs: string | undefined, prefix: string, conflicts: string[]): Promise<string | undefined> {
  const [b, o, t] = await Promise.all([entriesOf(git, base), entriesOf(git, ours), entriesOf(git, theirs)]);
  const result: TreeEntry[] = [];
  for (const name of new Set([...b.keys(), ...o.keys(), ...t.keys()])) {
    const eb = b.get(name);
    const eo = o.get(name);
    const et = t.get(name);
    const path = `${prefix}${name}`;
    let merged: TreeEntry | undefined;
    if (same(eo, et) || same(eb, et)) merged = eo;
    else if (same(eb, eo)) merged = et;
    else if (eo?.type === 'tree' && et?.type === 'tree') {
      const sha = await mergeLevel(git, eb?.type === 'tree' ? eb.sha : undefined, eo.sha, et.sha, `${path}/`, conflicts);
      merged = sha ? { mode: '040000', type: 'tree', sha, path: name } : undefined;
    } else if (regularFile(eo) && regularFile(et)) {
      const mode = eb && eb.mode === eo.mode ? et.mode : eo.mode;
      if (eb && eo.mode !== eb.mode && et.mode !== eb.mode && eo.mode !== et.mode) conflicts.push(path);
      const sha = eo.sha === et.sha ? eo.sha : await mergeFile(git, eb, eo, et);
      if (sha) merged = { mode, type: 'blob', sha, path: name };
      else conflicts.push(path);
    } else {
      // Modified on one side and deleted (or replaced by another kind) on the other.
      conflicts.push(path);
    }
    if (merged) result.push({ ...merged, path: name });
  }
  if (result.length === 0 && prefix !== '') return undefined;
  return writeTree(git, result);
}

/** Three-way merge of trees (what a server-side merge does, without a worktree). */
export async function mergeTrees(git: GitRunner, base: string | undefined, ours: string, theirs: string): Promise<TreeMergeResult> {
  if (ours === theirs || base === theirs) return { clean: true, tree: ours };
  if (base === ours) return { clean: true, tree: theirs };
  return git.memo(`merge:${base}:${ours}:${theirs}`, () => mergeRecursive(git, base, ours, theirs));
}

async function mergeRecursive(git: GitRunner, base: string | undefined, ours: string, theirs: string): Promise<TreeMergeResult> {
  const conflicts: string[] = [];
  const tree = await mergeLevel(git, base, ours, theirs, '', conflicts);
  return conflicts.length > 0 ? { clean: false, conflicts } : { clean: true, tree: tree as string };
}
