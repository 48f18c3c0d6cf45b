import type { GitHubClient, RepoRef } from './client.js';
import { createBranch, createCommitFromFiles, fastForwardBranch, type FileChanges } from './git-data.js';

/** A commit to make: `files` written onto `baseTree`, with `parents`. */
export interface CommitPlan {
  message: string;
  baseTree: string;
  parents: string[];
  files: FileChanges;
  /** Branches the parents are the tips of (a git writer fetches them first). */
  sourceBranches: string[];
}

/** How commits reach a branch: the Git Data API (GitHub signs them) or a `git push`. */
export interface BranchWriter {
  readonly method: 'api' | 'git';
  commit(plan: CommitPlan): Promise<string>;
  /** Creates `branch` at `sha`, or fast-forwards it there; never forces. */
  publish(branch: string, sha: string, create: boolean): Promise<void>;
}

/** Commits through the Git Data API: no checkout needed, and GitHub marks them Verified. */
export function apiBranchWriter(client: GitHubClient, repo: RepoRef): BranchWriter {
  return {
    method: 'api',
    commit: (plan) => createCommitFromFiles(client, repo, plan),
    publish: (branch, sha, create) => (create ? createBranch(client, repo, branch, sha) : fastForwardBranch(client, repo, branch, sha)),
  };
}
