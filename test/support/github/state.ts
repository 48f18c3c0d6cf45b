/** In-memory records of everything GitHub stores outside git. Refs and objects live in git only. */

export interface UserRecord {
  login: string;
  id: number;
  type: 'User' | 'Bot' | 'Organization';
  /** The commit email GitHub maps to this account. */
  email: string;
  name: string;
}

export interface LabelRecord {
  id: number;
  nodeId: string;
  name: string;
  color: string;
  description: string | null;
  default: boolean;
}

export interface IssueRecord {
  id: number;
  nodeId: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: 'completed' | 'not_planned' | 'reopened' | null;
  /** Lower-cased keys into `labels`, in the order they were added. */
  labels: string[];
  user: UserRecord;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: UserRecord | null;
  locked: boolean;
  /** Set when this issue is the conversation of a pull request. */
  isPullRequest: boolean;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface AutoMergeRecord {
  method: MergeMethod;
  enabledBy: UserRecord;
  enabledAt: string;
  commitTitle: string | null;
  commitMessage: string | null;
}

export interface PullRecord {
  number: number;
  id: number;
  nodeId: string;
  headRef: string;
  baseRef: string;
  /** Last known tips: refreshed from git while the pull request is open, frozen afterwards. */
  headSha: string;
  baseSha: string;
  draft: boolean;
  maintainerCanModify: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergedBy: UserRecord | null;
  mergeCommitSha: string | null;
  requestedReviewers: string[];
  requestedTeams: string[];
  autoMerge: AutoMergeRecord | null;
}

export interface CommentRecord {
  id: number;
  nodeId: string;
  issueNumber: number;
  body: string;
  user: UserRecord;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentRecord {
  id: number;
  nodeId: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  environment: string;
  originalEnvironment: string;
  description: string | null;
  creator: UserRecord;
  createdAt: string;
  updatedAt: string;
  transientEnvironment: boolean;
  productionEnvironment: boolean;
}

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'pending' | 'success' | 'queued' | 'in_progress';

export interface DeploymentStatusRecord {
  id: number;
  nodeId: string;
  deploymentId: number;
  state: DeploymentState;
  description: string;
  environment: string;
  environmentUrl: string;
  logUrl: string;
  creator: UserRecord;
  createdAt: string;
  updatedAt: string;
}

export type CommitState = 'error' | 'failure' | 'pending' | 'success';

export interface CommitStatusRecord {
  id: number;
  nodeId: string;
  sha: string;
  state: CommitState;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: UserRecord;
  createdAt: string;
  updatedAt: string;
}

export class EmulatorState {
  private lastId = 1000;
  readonly repoId: number;
  readonly repoCreatedAt: string;
  nextIssueNumber = 1;
  readonly issues = new Map<number, IssueRecord>();
  readonly pulls = new Map<number, PullRecord>();
  /** Keyed by lower-cased name: GitHub label names are unique regardless of case. */
  readonly labels = new Map<string, LabelRecord>();
  readonly comments = new Map<number, CommentRecord>();
  readonly deployments = new Map<number, DeploymentRecord>();
  readonly deploymentStatuses = new Map<number, DeploymentStatusRecord[]>();
  readonly commitStatuses: CommitStatusRecord[] = [];
  /** Commits GitHub itself created and signed (Git Data API without custom identities, merges). */
  readonly signedCommits = new Set<string>();

  constructor(now: string) {
    this.repoId = this.nextId();
    this.repoCreatedAt = now;
  }

  nextId(): number {
    return ++this.lastId;
  }

  /** Node ids in GitHub's current style (`PR_kwDO…`), consistent between REST and GraphQL. */
  nodeId(prefix: string, id: number): string {
    return `${prefix}_kwDO${Buffer.from(`${this.repoId}:${id}`).toString('base64url')}`;
  }

  label(name: string): LabelRecord | undefined {
    return this.labels.get(name.toLowerCase());
  }

  pullByNodeId(nodeId: string): PullRecord | undefined {
    return [...this.pulls.values()].find((p) => p.nodeId === nodeId);
  }

  issue(number: number): IssueRecord | undefined {
    return this.issues.get(number);
  }
}
