import type { GitRunner } from './git.js';
import type { ObjectType } from './objects.js';

export interface RefInfo {
  /** Full name, e.g. `refs/heads/main`. */
  ref: string;
  sha: string;
  type: ObjectType;
}

/** Lists refs whose full name starts with `prefix` (read from git every time: tests push directly). */
export async function listRefs(git: GitRunner, prefix = 'refs/'): Promise<RefInfo[]> {
  const out = await git.text(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ref, sha, type] = line.split('\0') as [string, string, ObjectType];
      return { ref, sha, type };
    })
    .filter((r) => r.ref.startsWith(prefix));
}

export async function readRef(git: GitRunner, fullName: string): Promise<RefInfo | undefined> {
  return (await listRefs(git, fullName)).find((r) => r.ref === fullName);
}

/** Tips of several branches from one `for-each-ref`. */
export async function branchShas(git: GitRunner, branches: readonly string[]): Promise<Array<string | undefined>> {
  const refs = await listRefs(git, 'refs/heads/');
  return branches.map((b) => refs.find((r) => r.ref === `refs/heads/${b}`)?.sha);
}

export async function branchSha(git: GitRunner, branch: string): Promise<string | undefined> {
  return (await readRef(git, `refs/heads/${branch}`))?.sha;
}

export async function isValidRefName(git: GitRunner, fullName: string): Promise<boolean> {
  return git.test(['check-ref-format', fullName]);
}

/**
 * Moves a ref, optionally only if it still points at `expected` (compare-and-swap, so a
 * concurrent `git push` to the bare repository is not overwritten). Returns false if it moved.
 */
export async function updateRef(git: GitRunner, fullName: string, sha: string, expected?: string): Promise<boolean> {
  const args = ['update-ref', '-m', 'github-emulator', fullName, sha, ...(expected !== undefined ? [expected] : [])];
  return (await git.run(args, { allowFailure: true })).code === 0;
}

export async function deleteRef(git: GitRunner, fullName: string): Promise<boolean> {
  return (await git.run(['update-ref', '-d', fullName], { allowFailure: true })).code === 0;
}

/** Whether `ancestor` is reachable from `descendant` (a fast-forward from one to the other). */
export async function isAncestor(git: GitRunner, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  return git.memo(`is-ancestor:${ancestor}:${descendant}`, () => git.test(['merge-base', '--is-ancestor', ancestor, descendant]));
}

export async function mergeBase(git: GitRunner, a: string, b: string): Promise<string | undefined> {
  if (a === b) return a;
  return git.memo(`merge-base:${a}:${b}`, async () => {
    const result = await git.run(['merge-base', a, b], { allowFailure: true });
    return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
  });
}

/** Commits reachable from `head` but not from `base`, oldest first (GitHub's compare order). */
export async function commitsBetween(git: GitRunner, base: string, head: string): Promise<string[]> {
  if (base === head) return [];
  return git.memo(`rev-list:${base}:${head}`, async () => {
    const out = await git.text(['rev-list', '--reverse', '--topo-order', head, `^${base}`]);
    return out ? out.split('\n') : [];
  });
}
