import { UserError, errorMessage } from '../util/errors.js';
import { enableAutoMerge, type AutoMergeResult, type AutoMergeSetting } from './auto-merge.js';
import { apiBranchWriter, type BranchWriter } from './branch-writer.js';
import type { GitHubClient, RepoRef } from './client.js';
import { compareCommits, deleteBranch, getBranchSha, getCommit, treeHasFiles, type FileChanges } from './git-data.js';
import { addLabels, ensureLabels } from './labels.js';
import { assertCanCreatePullRequests, closePullRequest, createPullRequest, listOpenPullRequests, updatePullRequest, type PullRequest } from './pulls.js';
import { getRepositoryInfo, type RepositoryInfo } from './repository.js';
import { requestReviewers } from './reviewers.js';

export type PullRequestOperation = 'created' | 'updated' | 'unchanged' | 'closed';

export interface UpsertPullRequestOptions {
  /** Head branch of the pull request (created from `base` when missing). */
  branch: string;
  /** Base branch; default: the repository's default branch. */
  base?: string;
  title: string;
  body: string;
  /**
   * A string (e.g. an HTML comment) that `body` contains and marks the pull request as this
   * tool's own: an open pull request from `branch` without it is never touched.
   */
  marker: string;
  /** The files the branch must hold; when the base already holds them, an open pull request is closed. */
  files: FileChanges;
  commitMessage: string;
  labels?: readonly string[];
  reviewers?: readonly string[];
  autoMerge?: AutoMergeSetting;
  draft?: boolean;
  /** Default: commits through the Git Data API. */
  writer?: BranchWriter;
  /** Said on a pull request closed because the base already has its changes. */
  closeComment?: string;
  /** Delete the branch of a pull request closed for that reason (default true). */
  deleteBranchOnClose?: boolean;
  /** Known repository settings (saves a request when the caller has them). */
  repository?: RepositoryInfo;
}

export interface UpsertPullRequestResult {
  operation: PullRequestOperation;
  /** Absent when there was nothing to propose and no pull request was open. */
  pullRequest?: PullRequest;
  /** The commit added to the branch, if one was. */
  commitSha?: string;
  base: string;
  autoMerge?: AutoMergeResult;
  /** Things a maintainer should know (reviewers that cannot review, auto-merge not enabled). */
  warnings: string[];
}

/**
 * Keeps one pull request from `branch` into `base` in step with `files`:
 * - the base already holds them: closes the open pull request (operation `closed`), or does nothing;
 * - no open pull request: commits on the base (or on top of an existing branch), pushes, opens one (`created`);
 * - an open one whose branch already holds them: leaves the branch alone (`unchanged`);
 * - else: a new commit on top of the branch, never a force-push (`updated`).
 * Title and body are refreshed when they differ; labels are created if missing and added;
 * reviewers are requested on new commits; auto-merge is enabled with an allowed merge method.
 *
 * Before a branch is pushed for a new pull request, the token's right to open pull requests is
 * checked, so a refusal leaves no branch behind (and one created anyway is deleted).
 */
export async function upsertPullRequest(client: GitHubClient, repo: RepoRef, options: UpsertPullRequestOptions): Promise<UpsertPullRequestResult> {
  if (!options.body.includes(options.marker)) throw new Error('upsertPullRequest: the body must contain the marker');
  const log = client.log;
  const info = options.repository ?? (await getRepositoryInfo(client, repo));
  const base = options.base || info.defaultBranch;
  if (options.branch === base) throw new UserError(`the pull request branch "${options.branch}" is the base branch; choose another branch name`);
  const writer = options.writer ?? apiBranchWriter(client, repo);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    log.warning(message);
  };

  const baseSha = await getBranchSha(client, repo, base);
  if (!baseSha) throw new UserError(`the base branch "${base}" does not exist in ${repo.owner}/${repo.repo}`);
  const baseCommit = await getCommit(client, repo, baseSha);
  const open = await listOpenPullRequests(client, repo, options.branch, base);
  const foreign = open.find((p) => !p.body.includes(options.marker));
  if (foreign) {
    throw new UserError(`pull request #${foreign.number} (${foreign.url}) from ${options.branch} was not opened by this action (its description lacks the marker); close it or choose another branch name`);
  }
  let pull = open[0];

  if (await treeHasFiles(client, repo, baseCommit.tree, options.files)) {
    if (!pull) {
      log.info(`${base} already has these changes: no pull request needed`);
      return { operation: 'unchanged', base, warnings };
    }
    log.info(`${base} already has the changes of #${pull.number}: closing it`);
    await closePullRequest(client, repo, pull, {
      comment: options.closeComment ?? `Closing: \`${base}\` already has these changes, so this pull request has nothing left to do.`,
      deleteBranch: options.deleteBranchOnClose ?? true,
    });
    return { operation: 'closed', pullRequest: { ...pull, state: 'closed' }, base, warnings };
  }

  const branchSha = await getBranchSha(client, repo, options.branch);
  let commitSha: string | undefined;
  if (branchSha) {
    const status = await compareCommits(client, repo, baseSha, branchSha);
    const branchCommit = await getCommit(client, repo, branchSha);
    const branchHasCommits = status === 'ahead' || status === 'diverged';
    if (!branchHasCommits || !(await treeHasFiles(client, repo, branchCommit.tree, options.files))) {
      // On top of the branch; when the base moved on, merge it in so the pull request shows only these files.
      const plan =
        status === 'ahead'
          ? { parents: [branchSha], baseTree: branchCommit.tree }
          : status === 'diverged'
            ? { parents: [branchSha, baseSha], baseTree: baseCommit.tree }
            : { parents: [baseSha], baseTree: baseCommit.tree };
      if (!pull) await assertCanCreatePullRequests(client, repo, base);
      commitSha = await writer.commit({ ...plan, message: options.commitMessage, files: options.files, sourceBranches: [base, options.branch] });
      await writer.publish(options.branch, commitSha, false);
      log.info(`pushed ${commitSha.slice(0, 7)} on top of ${options.branch} (${status} of ${base})`);
    }
  } else {
    await assertCanCreatePullRequests(client, repo, base);
    commitSha = await writer.commit({ parents: [baseSha], baseTree: baseCommit.tree, message: options.commitMessage, files: options.files, sourceBranches: [base] });
    await writer.publish(options.branch, commitSha, true);
    log.info(`created ${options.branch} at ${commitSha.slice(0, 7)}`);
  }

  let operation: PullRequestOperation;
  if (!pull) {
    try {
      pull = await createPullRequest(client, repo, { head: options.branch, base, title: options.title, body: options.body, draft: options.draft ?? false });
    } catch (error) {
      if (!branchSha) {
        // The branch exists only for this pull request: do not leave it behind.
        await deleteBranch(client, repo, options.branch).catch((cleanup: unknown) => log.warning(`could not delete ${options.branch} after the failure: ${errorMessage(cleanup)}`));
      }
      throw error;
    }
    operation = 'created';
    log.info(`opened #${pull.number}: ${pull.url}`);
  } else {
    operation = commitSha ? 'updated' : 'unchanged';
    if (pull.title !== options.title || pull.body !== options.body) {
      pull = { ...(await updatePullRequest(client, repo, pull.number, { title: options.title, body: options.body })), labels: pull.labels };
    }
    log.info(`#${pull.number} ${operation}: ${pull.url}`);
  }

  const labels = options.labels ?? [];
  const missing = labels.filter((l) => !pull.labels.some((have) => have.toLowerCase() === l.toLowerCase()));
  if (missing.length > 0) await addLabels(client, repo, pull.number, await ensureLabels(client, repo, missing));

  if ((options.reviewers ?? []).length > 0 && operation !== 'unchanged') {
    for (const warning of await requestReviewers(client, repo, pull.number, options.reviewers ?? [], pull.author)) warn(warning);
  }

  let autoMerge: AutoMergeResult | undefined;
  if (options.autoMerge && options.autoMerge !== 'off' && !pull.autoMerge) {
    autoMerge = await enableAutoMerge(client, info, pull.nodeId, options.autoMerge);
    if (autoMerge.warning) warn(autoMerge.warning);
    if (autoMerge.enabled) log.info(`auto-merge (${autoMerge.method}) enabled on #${pull.number}`);
  }

  return { operation, pullRequest: pull, ...(commitSha ? { commitSha } : {}), base, ...(autoMerge ? { autoMerge } : {}), warnings };
}
