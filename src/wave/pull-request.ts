import { enableAutoMerge, type AutoMergeSetting } from '../github/auto-merge.js';
import { ensureLabels, addLabels } from '../github/labels.js';
import { createPullRequest, listOpenPullRequests, updatePullRequest, type PullRequest } from '../github/pulls.js';
import { getRepositoryInfo } from '../github/repository.js';
import { errorMessage } from '../util/errors.js';
import type { WaveGitHub } from './context.js';
import { disableAutoMerge } from './github.js';
import type { PullOperation, PullRequestOutcome } from './report.js';

/** GitHub's limit on a pull request body. */
export const MAX_BODY = 65_536;

export interface PullRequestSpec {
  head: string;
  base: string;
  title: string;
  body: string;
  labels?: string[];
  autoMerge: AutoMergeSetting;
}

export function fitBody(body: string): string {
  if (body.length <= MAX_BODY) return body;
  const note = '\n\n_(cut to fit GitHub\'s 65,536-character limit; the full report is in the run\'s `report` output)_';
  return body.slice(0, MAX_BODY - note.length) + note;
}

/**
 * Opens the pull request from `head` into `base`, or updates the open one (never a second one).
 * Auto-merge is enabled when asked; problems with it come back as warnings.
 */
export async function upsertPullRequest(github: WaveGitHub, spec: PullRequestSpec, warnings: string[]): Promise<{ pull: PullRequest; outcome: PullRequestOutcome }> {
  const { client, repo } = github;
  const body = fitBody(spec.body);
  const open = await listOpenPullRequests(client, repo, spec.head, spec.base);
  let pull: PullRequest;
  let operation: PullOperation;
  const existing = open[0];
  if (existing) {
    if (existing.title === spec.title && existing.body === body) {
      pull = existing;
      operation = 'unchanged';
    } else {
      pull = await updatePullRequest(client, repo, existing.number, { title: spec.title, body });
      operation = 'updated';
    }
    if (open.length > 1) warnings.push(`more than one open pull request from ${spec.head} into ${spec.base}: updated #${existing.number}, left ${open.slice(1).map((p) => `#${p.number}`).join(', ')}`);
  } else {
    pull = await createPullRequest(client, repo, { head: spec.head, base: spec.base, title: spec.title, body });
    operation = 'created';
    client.log.info(`opened pull request #${pull.number}: ${pull.url}`);
  }
  if (spec.labels && spec.labels.length > 0) {
    const missing = spec.labels.filter((l) => !pull.labels.some((have) => have.toLowerCase() === l.toLowerCase()));
    if (missing.length > 0) await addLabels(client, repo, pull.number, await ensureLabels(client, repo, missing));
  }
  const outcome: PullRequestOutcome = { number: pull.number, url: pull.url, operation };
  if (spec.autoMerge !== 'off') {
    if (pull.autoMerge) {
      outcome.autoMerge = 'enabled';
    } else {
      const info = await getRepositoryInfo(client, repo);
      const result = await enableAutoMerge(client, info, pull.nodeId, spec.autoMerge);
      if (result.warning) warnings.push(result.warning);
      outcome.autoMerge = result.enabled ? 'enabled' : 'not-enabled';
    }
  }
  return { pull, outcome };
}

/**
 * Brings an open pull request in line with a gate that no longer passes: new body, auto-merge off
 * (its head is a live branch, so new unverified commits would otherwise merge by themselves).
 */
export async function markPullRequestWaiting(github: WaveGitHub, spec: Pick<PullRequestSpec, 'head' | 'base' | 'title' | 'body'>, warnings: string[]): Promise<PullRequestOutcome | undefined> {
  const { client, repo } = github;
  const existing = (await listOpenPullRequests(client, repo, spec.head, spec.base))[0];
  if (!existing) return undefined;
  const body = fitBody(spec.body);
  let operation: PullOperation = 'unchanged';
  if (existing.title !== spec.title || existing.body !== body) {
    await updatePullRequest(client, repo, existing.number, { title: spec.title, body });
    operation = 'updated';
  }
  const outcome: PullRequestOutcome = { number: existing.number, url: existing.url, operation };
  if (existing.autoMerge) {
    try {
      await disableAutoMerge(client, existing.nodeId);
      outcome.autoMerge = 'disabled';
      warnings.push(`turned auto-merge off on #${existing.number}: its gate does not pass`);
    } catch (error) {
      warnings.push(`could not turn auto-merge off on #${existing.number} although its gate does not pass: ${errorMessage(error)}; close it or turn it off by hand`);
    }
  }
  return outcome;
}
