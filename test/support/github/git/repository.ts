import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { GitRunner } from './git.js';
import { readCommit, resolve, writeBlob, writeCommit, type GitPerson } from './objects.js';
import { branchSha, updateRef } from './refs.js';
import { editTree, type TreeChange } from './tree-edit.js';

export type SeedContent = string | Buffer | { content: string | Buffer; mode?: '100644' | '100755' } | null;

/** A bare repository on disk that the emulator serves and tests may push to or fetch from. */
export class BareRepository {
  readonly git: GitRunner;

  private constructor(readonly path: string) {
    this.git = new GitRunner(path);
  }

  /** `file://` URL for `git clone`, `git push`, `git fetch`. */
  get url(): string {
    return pathToFileURL(this.path).href;
  }

  /** Creates a bare repository at `path` (or opens it if it already is one). */
  static async open(path: string, defaultBranch: string): Promise<BareRepository> {
    await mkdir(path, { recursive: true });
    const repo = new BareRepository(path);
    const isRepo = await repo.git.run(['rev-parse', '--is-bare-repository'], { allowFailure: true });
    if (isRepo.code !== 0) {
      await repo.git.run(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, path]);
    }
    return repo;
  }

  /**
   * Commits files on top of a branch (creating it from `from`, or as a root commit) and moves
   * the branch. `null` deletes a path. Returns the new commit sha.
   */
  async commitFiles(files: Record<string, SeedContent>, options: { branch: string; message: string; author: GitPerson; committer?: GitPerson; from?: string }): Promise<string> {
    const current = await branchSha(this.git, options.branch);
    const parent = current ?? (options.from ? await resolve(this.git, options.from) : undefined);
    const baseTree = parent ? (await readCommit(this.git, parent)).tree : undefined;
    const changes: TreeChange[] = [];
    for (const [path, value] of Object.entries(files)) {
      if (value === null) {
        changes.push({ path, mode: '100644', type: 'blob', sha: null });
        continue;
      }
      const { content, mode } = typeof value === 'string' || Buffer.isBuffer(value) ? { content: value, mode: '100644' } : { mode: '100644', ...value };
      const sha = await writeBlob(this.git, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
      changes.push({ path, mode, type: 'blob', sha });
    }
    const tree = await editTree(this.git, baseTree, changes);
    const sha = await writeCommit(this.git, { tree, parents: parent ? [parent] : [], message: options.message, author: options.author, committer: options.committer ?? options.author });
    if (!(await updateRef(this.git, `refs/heads/${options.branch}`, sha, current ?? ''))) {
      throw new Error(`branch ${options.branch} moved while seeding`);
    }
    return sha;
  }
}
