import type { GitHubClient, RepoRef } from '../github/client.js';
import { getBranchSha } from '../github/git-data.js';
import { UserError } from '../util/errors.js';
import { toPullRequest, type PullRequest } from '../github/pulls.js';
import type { HoldInfo } from './types.js';

/** What `source` has that `target` lacks. */
export interface BranchComparison {
  status: 'identical' | 'ahead' | 'behind' | 'diverged';
  aheadBy: number;
  behindBy: number;
  /** The tip of `source`: the candidate being promoted. */
  headSha: string;
  baseSha: string;
}

/** `GET /compare/{target}...{source}`; a missing branch is a clear error. */
export async function compareBranches(client: GitHubClient, repo: RepoRef, target: string, source: string): Promise<BranchComparison> {
  const [headSha, baseSha] = await Promise.all([getBranchSha(client, repo, source), getBranchSha(client, repo, target)]);
  if (!headSha || !baseSha) {
    throw new UserError(`cannot compare ${target}...${source} in ${repo.owner}/${repo.repo}: the branch ${!headSha ? source : target} does not exist`);
  }
  const { data } = await client.octokit.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: `${baseSha}...${headSha}`, per_page: 1 });
  return { status: data.status as BranchComparison['status'], aheadBy: data.ahead_by, behindBy: data.behind_by, headSha, baseSha };
}

/** Open issues and pull requests carrying the hold label. */
export async function labelHolds(client: GitHubClient, repo: RepoRef, label: string): Promise<HoldInfo[]> {
  const issues = await client.octokit.paginate(client.octokit.rest.issues.listForRepo, { ...repo, state: 'open', labels: label, per_page: 100 });
  return issues.map((issue) => ({
    source: 'label' as const,
    reason: `${issue.pull_request ? 'pull request' : 'issue'} "${issue.title}" has the label ${label}`,
    number: issue.number,
    url: issue.html_url,
  }));
}

const DISABLE_AUTO_MERGE = `mutation($pullRequestId: ID!) {
  disablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId }) { pullRequest { number } }
}`;

/** Turns auto-merge off, so a pull request whose gate no longer passes cannot merge by itself. */
export async function disableAutoMerge(client: GitHubClient, pullRequestNodeId: string): Promise<void> {
  await client.graphql(DISABLE_AUTO_MERGE, { pullRequestId: pullRequestNodeId });
}

export interface MergedPullRequest extends PullRequest {
  mergedAt: string;
  mergeCommitSha: string;
}

/** The most recently merged pull request from `head` into `base`, if any. */
export async function lastMergedPullRequest(client: GitHubClient, repo: RepoRef, head: string, base: string): Promise<MergedPullRequest | undefined> {
  const pulls = await client.octokit.paginate(client.octokit.rest.pulls.list, { ...repo, state: 'closed', head: `${repo.owner}:${head}`, base, sort: 'updated', direction: 'desc', per_page: 100 });
  const merged = pulls
    .filter((p) => p.merged_at && p.merge_commit_sha && p.head.ref === head && p.base.ref === base)
    .sort((a, b) => String(b.merged_at).localeCompare(String(a.merged_at)));
  const last = merged[0];
  if (!last) return undefined;
  return { ...toPullRequest(last as unknown as Parameters<typeof toPullRequest>[0]), mergedAt: last.merged_at as string, mergeCommitSha: last.merge_commit_sha as string };
}

/** A file's text at a commit's tree, or undefined when absent. */
export async function readFileAt(client: GitHubClient, repo: RepoRef, treeSha: string, path: string): Promise<{ text: string; sha: string } | undefined> {
  const parts = path.split('/').filter(Boolean);
  let tree = treeSha;
  for (const [i, part] of parts.entries()) {
    const { data } = await client.octokit.rest.git.getTree({ ...repo, tree_sha: tree });
    const entry = data.tree.find((e) => e.path === part);
    if (!entry?.sha) return undefined;
    if (i === parts.length - 1) {
      if (entry.type !== 'blob') return undefined;
      const { data: blob } = await client.octokit.rest.git.getBlob({ ...repo, file_sha: entry.sha });
      return { text: Buffer.from(blob.content, blob.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8'), sha: entry.sha };
    }
    if (entry.type !== 'tree') return undefined;
    tree = entry.sha;
  }
  return undefined;
}

export interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
}

/** Every blob and link of a tree by path (recursive). Fails on truncated listings rather than guessing. */
export async function listTree(client: GitHubClient, repo: RepoRef, treeSha: string): Promise<Map<string, TreeEntry>> {
  const { data } = await client.octokit.rest.git.getTree({ ...repo, tree_sha: treeSha, recursive: 'true' });
  if (data.truncated) throw new Error(`the tree ${treeSha} is too large for GitHub to list; revert the promotion by hand (git revert -m 1)`);
  const entries = new Map<string, TreeEntry>();
  for (const entry of data.tree) {
    if (entry.type === 'tree' || !entry.path || !entry.sha) continue;
    entries.set(entry.path, { mode: entry.mode ?? '100644', type: entry.type ?? 'blob', sha: entry.sha });
  }
  return entries;
}
