import { createHash } from 'node:crypto';
import type { GitHubClient, RepoRef } from './client.js';
import { isNotFound } from './errors.js';

/**
 * Files to write in a commit, by path from the repository root: new content, or `null` to delete.
 * Content is UTF-8 text or bytes; `{ content, mode: '100755' }` makes an executable.
 */
export type FileChanges = Record<string, FileContent | null>;
export type FileContent = string | Buffer | { content: string | Buffer; mode: '100644' | '100755' };

export function fileBytes(file: FileContent): Buffer {
  const content = typeof file === 'object' && !Buffer.isBuffer(file) ? file.content : file;
  return Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
}

export function fileMode(file: FileContent): '100644' | '100755' {
  return typeof file === 'object' && !Buffer.isBuffer(file) ? file.mode : '100644';
}

/** The object id git gives these bytes as a blob (what trees list). */
export function gitBlobSha(content: string | Buffer): string {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** The tip of a branch, or undefined when it does not exist. */
export async function getBranchSha(client: GitHubClient, repo: RepoRef, branch: string): Promise<string | undefined> {
  try {
    const { data } = await client.octokit.rest.git.getRef({ ...repo, ref: `heads/${branch}` });
    // A prefix match answers with a list; only an exact ref counts.
    if (Array.isArray(data)) return undefined;
    return data.ref === `refs/heads/${branch}` ? data.object.sha : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
}

export async function getCommit(client: GitHubClient, repo: RepoRef, sha: string): Promise<CommitInfo> {
  const { data } = await client.octokit.rest.git.getCommit({ ...repo, commit_sha: sha });
  return { sha: data.sha, tree: data.tree.sha, parents: data.parents.map((p) => p.sha), message: data.message };
}

/**
 * The blob id of each path in a tree (undefined when absent), reading only the directories on
 * the way (a recursive listing of a large repository would be truncated).
 */
export async function blobShasAt(client: GitHubClient, repo: RepoRef, treeSha: string, paths: readonly string[]): Promise<Record<string, string | undefined>> {
  type Entry = { path?: string; type?: string; sha?: string };
  const trees = new Map<string, Promise<Entry[]>>();
  const list = (sha: string): Promise<Entry[]> => {
    let entries = trees.get(sha);
    if (!entries) {
      entries = client.octokit.rest.git.getTree({ ...repo, tree_sha: sha }).then((r) => r.data.tree);
      trees.set(sha, entries);
    }
    return entries;
  };
  const result: Record<string, string | undefined> = {};
  for (const path of paths) {
    const parts = path.split('/').filter(Boolean);
    let current: string | undefined = treeSha;
    let found: string | undefined;
    for (const [i, part] of parts.entries()) {
      if (!current) break;
      const entry: Entry | undefined = (await list(current)).find((e) => e.path === part);
      const last = i === parts.length - 1;
      if (!entry) current = undefined;
      else if (last) found = entry.type === 'blob' ? entry.sha : undefined;
      else current = entry.type === 'tree' ? entry.sha : undefined;
    }
    result[path] = found;
  }
  return result;
}

/** Whether a tree already holds exactly these files (and lacks the deleted ones). */
export async function treeHasFiles(client: GitHubClient, repo: RepoRef, treeSha: string, files: FileChanges): Promise<boolean> {
  const present = await blobShasAt(client, repo, treeSha, Object.keys(files));
  return Object.entries(files).every(([path, file]) => (file === null ? present[path] === undefined : present[path] === gitBlobSha(fileBytes(file))));
}

export interface NewCommit {
  message: string;
  /** The tree the files are written onto. */
  baseTree: string;
  parents: string[];
  files: FileChanges;
}

/**
 * A commit through the Git Data API: blobs, a tree on top of `baseTree`, the commit. Without an
 * author or committer GitHub commits as the token's identity and signs it (shown as Verified).
 */
export async function createCommitFromFiles(client: GitHubClient, repo: RepoRef, commit: NewCommit): Promise<string> {
  const tree = [];
  for (const [path, file] of Object.entries(commit.files)) {
    if (file === null) {
      tree.push({ path, mode: '100644' as const, type: 'blob' as const, sha: null });
      continue;
    }
    const { data: blob } = await client.octokit.rest.git.createBlob({ ...repo, content: fileBytes(file).toString('base64'), encoding: 'base64' });
    tree.push({ path, mode: fileMode(file), type: 'blob' as const, sha: blob.sha });
  }
  const { data: newTree } = await client.octokit.rest.git.createTree({ ...repo, base_tree: commit.baseTree, tree });
  const { data: created } = await client.octokit.rest.git.createCommit({ ...repo, message: commit.message, tree: newTree.sha, parents: commit.parents });
  return created.sha;
}

export async function createBranch(client: GitHubClient, repo: RepoRef, branch: string, sha: string): Promise<void> {
  await client.octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha });
}

/** Moves a branch to a descendant of its tip; GitHub refuses anything else (never forced). */
export async function fastForwardBranch(client: GitHubClient, repo: RepoRef, branch: string, sha: string): Promise<void> {
  await client.octokit.rest.git.updateRef({ ...repo, ref: `heads/${branch}`, sha, force: false });
}

/** Deletes a branch; a branch already gone is not an error. */
export async function deleteBranch(client: GitHubClient, repo: RepoRef, branch: string): Promise<void> {
  try {
    await client.octokit.rest.git.deleteRef({ ...repo, ref: `heads/${branch}` });
  } catch (error) {
    if (isNotFound(error) || /does not exist/i.test(String((error as { response?: { data?: { message?: string } } }).response?.data?.message ?? ''))) return;
    throw error;
  }
}

export type CompareStatus = 'identical' | 'ahead' | 'behind' | 'diverged';

/** How `head` relates to `base`: ahead (only new commits), behind (an ancestor), diverged, identical. */
export async function compareCommits(client: GitHubClient, repo: RepoRef, base: string, head: string): Promise<CompareStatus> {
  if (base === head) return 'identical';
  const { data } = await client.octokit.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: `${base}...${head}`, per_page: 1 });
  return data.status as CompareStatus;
}
