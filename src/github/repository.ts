import type { GitHubClient, RepoRef } from './client.js';
import { githubErrorMessage, httpStatusOf } from './errors.js';
import { UserError } from '../util/errors.js';

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface RepositoryInfo {
  fullName: string;
  defaultBranch: string;
  htmlUrl: string;
  nodeId: string;
  /**
   * The merge settings; `undefined` when GitHub did not say (it lists them only to tokens that may
   * push), in which case a method is tried and GitHub's answer reported.
   */
  allowMergeCommit?: boolean;
  allowSquashMerge?: boolean;
  allowRebaseMerge?: boolean;
  allowAutoMerge?: boolean;
  deleteBranchOnMerge?: boolean;
}

/** `GET /repos/{owner}/{repo}`: default branch and the merge methods the repository allows. */
export async function getRepositoryInfo(client: GitHubClient, repo: RepoRef): Promise<RepositoryInfo> {
  let data: Record<string, unknown>;
  try {
    data = (await client.octokit.rest.repos.get({ ...repo })).data as unknown as Record<string, unknown>;
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404 || status === 403) {
      throw new UserError(
        `cannot read the repository ${repo.owner}/${repo.repo} (${githubErrorMessage(error)}): check the repository name and that the token may read it`,
      );
    }
    throw error;
  }
  const info: RepositoryInfo = {
    fullName: String(data.full_name ?? `${repo.owner}/${repo.repo}`),
    defaultBranch: String(data.default_branch ?? 'main'),
    htmlUrl: String(data.html_url ?? ''),
    nodeId: String(data.node_id ?? ''),
  };
  const flag = (key: string): boolean | undefined => (typeof data[key] === 'boolean' ? (data[key] as boolean) : undefined);
  const optional: Array<[keyof RepositoryInfo, string]> = [
    ['allowMergeCommit', 'allow_merge_commit'],
    ['allowSquashMerge', 'allow_squash_merge'],
    ['allowRebaseMerge', 'allow_rebase_merge'],
    ['allowAutoMerge', 'allow_auto_merge'],
    ['deleteBranchOnMerge', 'delete_branch_on_merge'],
  ];
  for (const [field, key] of optional) {
    const value = flag(key);
    if (value !== undefined) (info as unknown as Record<string, unknown>)[field] = value;
  }
  return info;
}

/** Whether the repository allows a merge method (`undefined`: not known). */
export function mergeMethodAllowed(info: RepositoryInfo, method: MergeMethod): boolean | undefined {
  return method === 'merge' ? info.allowMergeCommit : method === 'squash' ? info.allowSquashMerge : info.allowRebaseMerge;
}
