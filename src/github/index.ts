export { createGitHubClient, type GitHubClient, type GitHubClientOptions, type RepoRef } from './client.js';
export {
  githubErrorMessage,
  httpStatusOf,
  isNotFound,
  GitHubGraphqlError,
  GitHubPermissionError,
  PullRequestsNotPermittedError,
} from './errors.js';
export { getRepositoryInfo, mergeMethodAllowed, type RepositoryInfo, type MergeMethod } from './repository.js';
export {
  gitBlobSha,
  getBranchSha,
  getCommit,
  blobShasAt,
  treeHasFiles,
  createCommitFromFiles,
  createBranch,
  fastForwardBranch,
  deleteBranch,
  compareCommits,
  type FileChanges,
  type FileContent,
  type CommitInfo,
  type NewCommit,
  type CompareStatus,
} from './git-data.js';
export { apiBranchWriter, type BranchWriter, type CommitPlan } from './branch-writer.js';
export { gitBranchWriter, type GitWriterOptions } from './git-writer.js';
export {
  listOpenPullRequests,
  getPullRequest,
  createPullRequest,
  updatePullRequest,
  closePullRequest,
  commentOnIssue,
  assertCanCreatePullRequests,
  type PullRequest,
  type NewPullRequest,
} from './pulls.js';
export { ensureLabels, addLabels, type LabelStyle } from './labels.js';
export { requestReviewers, splitReviewers } from './reviewers.js';
export { enableAutoMerge, chooseMergeMethod, type AutoMergeResult, type AutoMergeSetting } from './auto-merge.js';
export { upsertPullRequest, type UpsertPullRequestOptions, type UpsertPullRequestResult, type PullRequestOperation } from './upsert.js';
export { DeploymentRecord, type DeploymentRequest, type DeploymentState } from './deployments.js';
