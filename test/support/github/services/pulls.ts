import { webFlow, type EmulatorCore } from '../core.js';
import { diffTrees, type FileChange } from '../git/diff.js';
import { mergeTrees } from '../git/merge.js';
import { readCommit, writeCommit, type GitPerson } from '../git/objects.js';
import { branchShas, commitsBetween, deleteRef, isAncestor, mergeBase, updateRef } from '../git/refs.js';
import { conflict, HttpError, methodNotAllowed } from '../http-errors.js';
import type { IssueRecord, MergeMethod, PullRecord, UserRecord } from '../state.js';
import { latestStatuses, unmetRequiredCheck } from './statuses.js';

export interface PullFacts {
  commits: number;
  additions: number;
  deletions: number;
  changedFiles: number;
  files: FileChange[];
  /** null while unknown, as GitHub reports for closed pull requests. */
  mergeable: boolean | null;
  mergeableState: 'clean' | 'dirty' | 'blocked' | 'unstable' | 'draft' | 'unknown';
}

export function issueOf(core: EmulatorCore, pull: PullRecord): IssueRecord {
  return core.state.issues.get(pull.number) as IssueRecord;
}

function closeIssue(core: EmulatorCore, issue: IssueRecord, by: UserRecord | null): void {
  const now = core.timestamp();
  issue.state = 'closed';
  issue.stateReason = null;
  issue.closedAt = now;
  issue.updatedAt = now;
  issue.closedBy = by;
}

/**
 * Brings an open pull request up to date with its branches, which tests may move with `git push`:
 * the tips follow the refs, a deleted head branch closes it, and a head already contained in the
 * base (merged by a push) marks it merged, as GitHub does.
 */
export async function refreshPull(core: EmulatorCore, pull: PullRecord): Promise<void> {
  const issue = issueOf(core, pull);
  if (issue.state !== 'open') return;
  const [head, base] = await branchShas(core.git, [pull.headRef, pull.baseRef]);
  if (!head || !base) {
    closeIssue(core, issue, null);
    return;
  }
  pull.headSha = head;
  pull.baseSha = base;
  if (await isAncestor(core.git, head, base)) {
    pull.merged = true;
    pull.mergedAt = core.timestamp();
    pull.mergeCommitSha = head;
    pull.autoMerge = null;
    closeIssue(core, issue, null);
  }
}

async function threeWay(core: EmulatorCore, base: string, head: string): Promise<{ mergeBase: string | undefined; tree: string | undefined }> {
  const mb = await mergeBase(core.git, base, head);
  const [baseCommit, headCommit, mbCommit] = await Promise.all([readCommit(core.git, base), readCommit(core.git, head), mb ? readCommit(core.git, mb) : undefined]);
  const merged = await mergeTrees(core.git, mbCommit?.tree, baseCommit.tree, headCommit.tree);
  return { mergeBase: mb, tree: merged.clean ? merged.tree : undefined };
}

export async function pullFacts(core: EmulatorCore, pull: PullRecord): Promise<PullFacts> {
  await refreshPull(core, pull);
  const issue = issueOf(core, pull);
  const mb = (await mergeBase(core.git, pull.baseSha, pull.headSha)) ?? pull.baseSha;
  const [commits, mbCommit, headCommit] = await Promise.all([commitsBetween(core.git, mb, pull.headSha), readCommit(core.git, mb), readCommit(core.git, pull.headSha)]);
  const files = await diffTrees(core.git, mbCommit.tree, headCommit.tree);
  const facts: PullFacts = {
    commits: commits.length,
    additions: files.reduce((n, f) => n + f.additions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
    changedFiles: files.length,
    files,
    mergeable: null,
    mergeableState: 'unknown',
  };
  if (issue.state !== 'open') return facts;
  const { tree } = await threeWay(core, pull.baseSha, pull.headSha);
  facts.mergeable = tree !== undefined;
  if (!tree) facts.mergeableState = 'dirty';
  else if (pull.draft) facts.mergeableState = 'draft';
  else if (unmetRequiredCheck(core, pull.baseRef, pull.headSha)) facts.mergeableState = 'blocked';
  else if (latestStatuses(core, pull.headSha).some((s) => s.state !== 'success')) facts.mergeableState = 'unstable';
  else facts.mergeableState = 'clean';
  return facts;
}

export function methodAllowed(core: EmulatorCore, method: MergeMethod): boolean {
  const s = core.settings;
  return method === 'merge' ? s.allowMergeCommit : method === 'squash' ? s.allowSquashMerge : s.allowRebaseMerge;
}

const notAllowedMessage: Record<MergeMethod, string> = {
  merge: 'Merge commits are not allowed on this repository.',
  squash: 'Squash merges are not allowed on this repository.',
  rebase: 'Rebase merges are not allowed on this repository.',
};

export interface MergeRequest {
  method: MergeMethod;
  /** The head the caller reviewed; a moved head is refused with 409. */
  sha?: string;
  commitTitle?: string;
  commitMessage?: string;
  by: UserRecord;
}

function identity(core: EmulatorCore, user: UserRecord): GitPerson {
  return { name: user.name, email: user.email, date: core.timestamp() };
}

function committer(core: EmulatorCore): GitPerson {
  return { ...webFlow, date: core.timestamp() };
}

async function signedCommit(core: EmulatorCore, tree: string, parents: string[], message: string, author: GitPerson): Promise<string> {
  const sha = await writeCommit(core.git, { tree, parents, message, author, committer: committer(core) });
  core.state.signedCommits.add(sha);
  return sha;
}

/** Replays the pull request's commits on the base tip, one new commit each (GitHub's rebase merge). */
async function rebaseOnto(core: EmulatorCore, base: string, mb: string, head: string): Promise<string | undefined> {
  let tip = base;
  for (const sha of await commitsBetween(core.git, mb, head)) {
    const commit = await readCommit(core.git, sha);
    if (commit.parents.length !== 1) return undefined;
    const [parent, onto] = await Promise.all([readCommit(core.git, commit.parents[0] as string), readCommit(core.git, tip)]);
    const picked = await mergeTrees(core.git, parent.tree, onto.tree, commit.tree);
    if (!picked.clean) return undefined;
    tip = await signedCommit(core, picked.tree, [tip], commit.message, commit.author);
  }
  return tip;
}

async function squashMessage(core: EmulatorCore, mb: string, head: string): Promise<string> {
  const lines: string[] = [];
  for (const sha of await commitsBetween(core.git, mb, head)) lines.push(`* ${(await readCommit(core.git, sha)).message.trim()}`);
  return lines.join('\n\n');
}

/** Merges an open pull request in git the way the chosen method does; returns the new base tip. */
export async function mergePull(core: EmulatorCore, pull: PullRecord, request: MergeRequest): Promise<string> {
  await refreshPull(core, pull);
  const issue = issueOf(core, pull);
  if (issue.state !== 'open') throw methodNotAllowed('Pull Request is not mergeable');
  if (!methodAllowed(core, request.method)) throw methodNotAllowed(notAllowedMessage[request.method]);
  if (request.sha && request.sha !== pull.headSha) throw conflict('Head branch was modified. Review and try the merge again.');
  if (pull.draft) throw methodNotAllowed('Pull Request is still a draft');
  const unmet = unmetRequiredCheck(core, pull.baseRef, pull.headSha);
  if (unmet) throw methodNotAllowed(`Required status check "${unmet.context}" is ${unmet.problem === 'expected' ? 'expected' : unmet.problem === 'pending' ? 'in progress' : 'failing'}.`);

  const base = pull.baseSha;
  const head = pull.headSha;
  const { mergeBase: mb, tree } = await threeWay(core, base, head);
  if (!tree || !mb) throw methodNotAllowed('Pull Request is not mergeable');

  let result: string | undefined;
  if (request.method === 'merge') {
    const title = request.commitTitle ?? `Merge pull request #${pull.number} from ${core.settings.owner}/${pull.headRef}`;
    result = await signedCommit(core, tree, [base, head], `${title}\n\n${request.commitMessage ?? issue.title}`, identity(core, request.by));
  } else if (request.method === 'squash') {
    const title = request.commitTitle ?? `${issue.title} (#${pull.number})`;
    const body = request.commitMessage ?? (await squashMessage(core, mb, head));
    result = await signedCommit(core, tree, [base], body ? `${title}\n\n${body}` : title, identity(core, issue.user));
  } else {
    result = await rebaseOnto(core, base, mb, head);
    if (!result) throw methodNotAllowed('This branch can\'t be rebased');
  }

  if (!(await updateRef(core.git, `refs/heads/${pull.baseRef}`, result, base))) {
    throw methodNotAllowed('Base branch was modified. Review and try the merge again.');
  }
  pull.merged = true;
  pull.mergedAt = core.timestamp();
  pull.mergedBy = request.by;
  pull.mergeCommitSha = result;
  pull.autoMerge = null;
  closeIssue(core, issue, request.by);
  if (core.settings.deleteBranchOnMerge) await deleteRef(core.git, `refs/heads/${pull.headRef}`);
  return result;
}

/**
 * Completes armed auto-merges whose requirements are now met, as GitHub does when checks finish.
 * Returns the numbers of the pull requests it merged.
 */
export async function runAutoMerges(core: EmulatorCore): Promise<number[]> {
  const merged: number[] = [];
  for (const pull of core.state.pulls.values()) {
    if (!pull.autoMerge || issueOf(core, pull).state !== 'open') continue;
    const facts = await pullFacts(core, pull);
    if (facts.mergeableState !== 'clean' && facts.mergeableState !== 'unstable') continue;
    const auto = pull.autoMerge;
    if (!auto) continue;
    try {
      await mergePull(core, pull, { method: auto.method, by: auto.enabledBy, ...(auto.commitTitle ? { commitTitle: auto.commitTitle } : {}), ...(auto.commitMessage ? { commitMessage: auto.commitMessage } : {}) });
      merged.push(pull.number);
    } catch (error) {
      // A merge GitHub cannot complete leaves auto-merge armed, waiting for the next change.
      if (!(error instanceof HttpError)) throw error;
    }
  }
  return merged;
}
