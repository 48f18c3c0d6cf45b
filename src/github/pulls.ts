import type { GitHubClient, RepoRef } from './client.js';
import { deleteBranch } from './git-data.js';
import { ACTIONS_CANNOT_CREATE_PULL_REQUESTS, GitHubPermissionError, githubErrorMessage, httpStatusOf, PullRequestsNotPermittedError } from './errors.js';

/** The fields of a pull request the actions work with. */
export interface PullRequest {
  number: number;
  nodeId: string;
  url: string;
  title: string;
  body: string;
  head: string;
  headSha: string;
  base: string;
  state: 'open' | 'closed';
  draft: boolean;
  labels: string[];
  requestedReviewers: string[];
  autoMerge: boolean;
  /** Login of the account that opened it. */
  author?: string;
}

type PullData = {
  number: number;
  node_id: string;
  html_url: string;
  title: string;
  body?: string | null;
  state: string;
  draft?: boolean;
  head: { ref: string; sha: string };
  base: { ref: string };
  labels?: Array<{ name?: string } | string>;
  requested_reviewers?: Array<{ login: string }> | null;
  auto_merge?: unknown;
  user?: { login: string } | null;
};

export function toPullRequest(data: PullData): PullRequest {
  return {
    number: data.number,
    nodeId: data.node_id,
    url: data.html_url,
    title: data.title,
    body: data.body ?? '',
    head: data.head.ref,
    headSha: data.head.sha,
    base: data.base.ref,
    state: data.state === 'open' ? 'open' : 'closed',
    draft: data.draft ?? false,
    labels: (data.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
    requestedReviewers: (data.requested_reviewers ?? []).map((r) => r.login),
    autoMerge: data.auto_merge !== null && data.auto_merge !== undefined,
    ...(data.user?.login ? { author: data.user.login } : {}),
  };
}

/** Open pull requests from `branch` of this repository (into `base`, when given). */
export async function listOpenPullRequests(client: GitHubClient, repo: RepoRef, branch: string, base?: string): Promise<PullRequest[]> {
  const pulls = await client.octokit.paginate(client.octokit.rest.pulls.list, {
    ...repo,
    state: 'open',
    // GitHub filters on `owner:branch` only; a bare branch name is ignored.
    head: `${repo.owner}:${branch}`,
    ...(base ? { base } : {}),
    per_page: 100,
  });
  return pulls.map((p) => toPullRequest(p as unknown as PullData)).filter((p) => p.head === branch && (!base || p.base === base));
}

export async function getPullRequest(client: GitHubClient, repo: RepoRef, number: number): Promise<PullRequest> {
  const { data } = await client.octokit.rest.pulls.get({ ...repo, pull_number: number });
  return toPullRequest(data as unknown as PullData);
}

export interface NewPullRequest {
  head: string;
  base: string;
  title: string;
  body: string;
  draft?: boolean;
}

/** Opens a pull request; a refusal of the token says which setting or permission fixes it. */
export async function createPullRequest(client: GitHubClient, repo: RepoRef, pull: NewPullRequest): Promise<PullRequest> {
  try {
    const { data } = await client.octokit.rest.pulls.create({ ...repo, head: pull.head, base: pull.base, title: pull.title, body: pull.body, draft: pull.draft ?? false, maintainer_can_modify: true });
    return toPullRequest(data as unknown as PullData);
  } catch (error) {
    throw explainPullRequestRefusal(error, repo);
  }
}

/** Turns GitHub's 403s on opening pull requests into errors that name the fix. */
export function explainPullRequestRefusal(error: unknown, repo: RepoRef): unknown {
  if (httpStatusOf(error) !== 403) return error;
  const message = githubErrorMessage(error);
  if (ACTIONS_CANNOT_CREATE_PULL_REQUESTS.test(message)) return new PullRequestsNotPermittedError(`${repo.owner}/${repo.repo}`, message);
  return new GitHubPermissionError(`open a pull request in ${repo.owner}/${repo.repo}`, '`pull-requests: write` and `contents: write`', message);
}

/**
 * Checks, without creating anything, that the token may open pull requests: asks GitHub for a
 * pull request from `base` into itself, which it always refuses with 422 ("No commits between")
 * once the permission checks have passed, and with 403 before.
 */
export async function assertCanCreatePullRequests(client: GitHubClient, repo: RepoRef, base: string): Promise<void> {
  try {
    await client.octokit.rest.pulls.create({ ...repo, head: base, base, title: 'permission check (never created)', body: '' });
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 403) throw explainPullRequestRefusal(error, repo);
    if (status === 422) return;
    // Anything else (rate limits, a server error): the real attempt later reports it.
    client.log.debug(`pull request permission probe: ${githubErrorMessage(error)}`);
    return;
  }
  // GitHub never opens a pull request from a branch into itself; if it somehow did, say so.
  client.log.warning(`GitHub accepted a pull request from ${base} into itself while checking permissions; close it by hand`);
}

export async function updatePullRequest(client: GitHubClient, repo: RepoRef, number: number, changes: { title?: string; body?: string; state?: 'open' | 'closed' }): Promise<PullRequest> {
  const { data } = await client.octokit.rest.pulls.update({ ...repo, pull_number: number, ...changes });
  return toPullRequest(data as unknown as PullData);
}

export async function commentOnIssue(client: GitHubClient, repo: RepoRef, number: number, body: string): Promise<void> {
  await client.octokit.rest.issues.createComment({ ...repo, issue_number: number, body });
}

/** Closes a pull request, optionally saying why (a comment first) and deleting its branch. */
export async function closePullRequest(
  client: GitHubClient,
  repo: RepoRef,
  pull: Pick<PullRequest, 'number' | 'head'>,
  options: { comment?: string; deleteBranch?: boolean } = {},
): Promise<void> {
  if (options.comment) await commentOnIssue(client, repo, pull.number, options.comment);
  await updatePullRequest(client, repo, pull.number, { state: 'closed' });
  if (options.deleteBranch) await deleteBranch(client, repo, pull.head);
}
