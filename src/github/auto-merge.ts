import type { GitHubClient } from './client.js';
import { githubErrorMessage } from './errors.js';
import { mergeMethodAllowed, type MergeMethod, type RepositoryInfo } from './repository.js';

export type AutoMergeSetting = 'off' | MergeMethod;

export type AutoMergeResult = { enabled: true; method: MergeMethod; warning?: string } | { enabled: false; warning?: string };

const PREFERENCE: MergeMethod[] = ['squash', 'merge', 'rebase'];

/**
 * The merge method to use: the requested one when the repository allows it (or does not say),
 * else another one it allows, else none.
 */
export function chooseMergeMethod(info: RepositoryInfo, requested: MergeMethod): { method?: MergeMethod; warning?: string } {
  if (mergeMethodAllowed(info, requested) !== false) return { method: requested };
  const fallback = PREFERENCE.find((m) => mergeMethodAllowed(info, m) === true);
  if (!fallback) return { warning: `${info.fullName} allows none of merge, squash and rebase merges; auto-merge was not enabled` };
  return { method: fallback, warning: `${info.fullName} does not allow ${requested} merges; auto-merge uses ${fallback} instead (set auto-merge: ${fallback} to silence this)` };
}

const ENABLE = `mutation($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId, mergeMethod: $mergeMethod }) {
    pullRequest { number autoMergeRequest { mergeMethod enabledAt } }
  }
}`;

/**
 * Turns on auto-merge (GraphQL `enablePullRequestAutoMerge`) with a method the repository allows.
 * Never throws for what a maintainer must fix in the settings: those come back as warnings.
 */
export async function enableAutoMerge(client: GitHubClient, info: RepositoryInfo, pullRequestNodeId: string, requested: MergeMethod): Promise<AutoMergeResult> {
  if (info.allowAutoMerge === false) {
    return { enabled: false, warning: `auto-merge is off in ${info.fullName}: turn on Settings → General → Pull Requests → "Allow auto-merge" (it also needs a branch protection rule or ruleset with required checks on the base branch)` };
  }
  const choice = chooseMergeMethod(info, requested);
  if (!choice.method) return { enabled: false, ...(choice.warning ? { warning: choice.warning } : {}) };
  try {
    await client.graphql(ENABLE, { pullRequestId: pullRequestNodeId, mergeMethod: choice.method.toUpperCase() });
  } catch (error) {
    const message = githubErrorMessage(error);
    const hint = /clean status|protected branch|not allowed/i.test(message)
      ? ' (GitHub enables auto-merge only when the base branch requires checks or reviews that are still pending; add a branch protection rule or merge by hand)'
      : '';
    return { enabled: false, warning: `could not enable auto-merge (${choice.method}): ${message}${hint}` };
  }
  return { enabled: true, method: choice.method, ...(choice.warning ? { warning: choice.warning } : {}) };
}
