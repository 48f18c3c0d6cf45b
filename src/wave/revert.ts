import type { GitHubClient, RepoRef } from '../github/client.js';
import { createBranch, getBranchSha, getCommit } from '../github/git-data.js';
import { listOpenPullRequests } from '../github/pulls.js';
import { UserError } from '../util/errors.js';
import type { WaveGitHub, WaveOptions } from './context.js';
import { lastMergedPullRequest, listTree, type TreeEntry } from './github.js';
import { upsertPullRequest } from './pull-request.js';
import { formatTime } from './render.js';
import type { WaveReport } from './report.js';

export const REVERT_MARKER = '<!-- fleet-upgrade-wave:revert -->';

export function revertBranch(pullNumber: number): string {
  return `fleet-revert/promotion-${pullNumber}`;
}

export class RevertConflictError extends UserError {
  override name = 'RevertConflictError';
}

type TreeChange = { path: string; mode: string; type: 'blob' | 'commit'; sha: string | null };

/**
 * The tree edits that undo `merged` (the tree after the promotion) back to `before` on top of
 * `head` (the target branch now). A file changed again since the promotion cannot be reverted
 * automatically: that is a conflict.
 */
export function revertChanges(before: Map<string, TreeEntry>, merged: Map<string, TreeEntry>, head: Map<string, TreeEntry>): { changes: TreeChange[]; conflicts: string[] } {
  const same = (a: TreeEntry | undefined, b: TreeEntry | undefined) => (a === undefined ? b === undefined : b !== undefined && a.sha === b.sha && a.mode === b.mode);
  const changes: TreeChange[] = [];
  const conflicts: string[] = [];
  for (const path of [...new Set([...before.keys(), ...merged.keys()])].sort()) {
    const old = before.get(path);
    const promoted = merged.get(path);
    if (same(old, promoted)) continue;
    const now = head.get(path);
    if (same(now, old)) continue;
    if (!same(now, promoted)) {
      conflicts.push(path);
      continue;
    }
    changes.push(
      old
        ? { path, mode: old.mode, type: old.type === 'commit' ? 'commit' : 'blob', sha: old.sha }
        : { path, mode: promoted?.mode ?? '100644', type: promoted?.type === 'commit' ? 'commit' : 'blob', sha: null },
    );
  }
  return { changes, conflicts };
}

/**
 * `abort`: opens (or keeps) a pull request that reverts the last promotion's merge commit, made
 * with the Git Data API on top of the target branch, labelled with the hold label so nothing is
 * promoted while it is open.
 */
export async function abortPromotion(options: WaveOptions, github: WaveGitHub, report: WaveReport): Promise<WaveReport> {
  const { client, repo } = github;
  const { sourceBranch: source, targetBranch: target } = options;
  const last = await lastMergedPullRequest(client, repo, source, target);
  if (!last) return { ...report, decision: 'nothing-to-do', reason: `no merged promotion from ${source} into ${target} to revert` };
  report.revert = { pullRequest: last.number, mergeCommit: last.mergeCommitSha };
  const branch = revertBranch(last.number);
  const title = `Revert promotion #${last.number} (${source} → ${target})`;
  const body = [
    REVERT_MARKER,
    `Reverts the promotion #${last.number} (merge commit \`${last.mergeCommitSha}\`, merged ${last.mergedAt}), opened by an abort of fleet upgrade-wave.`,
    '',
    `While this pull request is open it carries the \`${options.holdLabel}\` label, which holds every promotion.`,
    '',
    `_Updated at ${formatTime(options.now)}${github.runUrl ? ` ([run](${github.runUrl}))` : ''}._`,
  ].join('\n');

  const existingBranch = await getBranchSha(client, repo, branch);
  const open = existingBranch ? await listOpenPullRequests(client, repo, branch, target) : [];
  if (open.length === 0 && (await lastMergedPullRequest(client, repo, branch, target))) {
    return { ...report, decision: 'nothing-to-do', reason: `promotion #${last.number} was already reverted` };
  }
  if (!existingBranch || open.length === 0) {
    const sha = await revertCommit(client, repo, target, last.mergeCommitSha, `Revert promotion #${last.number}\n\nThis reverts merge commit ${last.mergeCommitSha}.`);
    if (existingBranch) await client.octokit.rest.git.updateRef({ ...repo, ref: `heads/${branch}`, sha, force: true });
    else await createBranch(client, repo, branch, sha);
  }
  const { outcome } = await upsertPullRequest(github, { head: branch, base: target, title, body, labels: [options.holdLabel], autoMerge: options.autoMerge }, report.warnings);
  return { ...report, decision: 'reverted', reason: `pull request #${outcome.number} (${outcome.operation}) reverts promotion #${last.number}`, pullRequest: outcome };
}

/** A commit on top of `target` whose tree undoes `mergeCommit` against its first parent. */
async function revertCommit(client: GitHubClient, repo: RepoRef, target: string, mergeCommit: string, message: string): Promise<string> {
  const headSha = await getBranchSha(client, repo, target);
  if (!headSha) throw new UserError(`the branch ${target} does not exist`);
  const merged = await getCommit(client, repo, mergeCommit);
  const parent = merged.parents[0];
  if (!parent) throw new UserError(`the promotion's merge commit ${mergeCommit} has no parent to revert to`);
  const [head, before] = await Promise.all([getCommit(client, repo, headSha), getCommit(client, repo, parent)]);
  if (head.tree === merged.tree) {
    // Nothing landed since: the parent's tree is the revert.
    const { data } = await client.octokit.rest.git.createCommit({ ...repo, message, tree: before.tree, parents: [headSha] });
    return data.sha;
  }
  const [beforeTree, mergedTree, headTree] = await Promise.all([listTree(client, repo, before.tree), listTree(client, repo, merged.tree), listTree(client, repo, head.tree)]);
  const { changes, conflicts } = revertChanges(beforeTree, mergedTree, headTree);
  if (conflicts.length > 0) {
    throw new RevertConflictError(`cannot revert promotion commit ${mergeCommit} automatically: ${conflicts.join(', ')} changed again on ${target} since; revert it by hand (git revert -m 1 ${mergeCommit})`);
  }
  if (changes.length === 0) throw new UserError(`promotion commit ${mergeCommit} is already undone on ${target}`);
  const { data: tree } = await client.octokit.rest.git.createTree({ ...repo, base_tree: head.tree, tree: changes.map((c) => ({ ...c, mode: c.mode as '100644' })) });
  const { data } = await client.octokit.rest.git.createCommit({ ...repo, message, tree: tree.sha, parents: [headSha] });
  return data.sha;
}
