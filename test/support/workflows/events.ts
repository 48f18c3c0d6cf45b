import type { Value } from './values.js';

/** The event that starts a run: what GitHub puts in `github.*` and GITHUB_EVENT_PATH. */
export interface TriggerEvent {
  name: 'push' | 'pull_request' | 'merge_group' | 'schedule' | 'workflow_dispatch';
  /** GITHUB_REF: the branch pushed, `refs/pull/N/merge`, or the default branch for schedule. */
  ref: string;
  sha: string;
  payload: Record<string, Value>;
  /** pull_request only: the head and base branch names (github.head_ref, github.base_ref). */
  headRef?: string;
  baseRef?: string;
  /** workflow_dispatch only. */
  inputs?: Record<string, Value>;
}

interface Repository {
  /** owner/name */
  fullName: string;
  defaultBranch?: string;
}

const repositoryPayload = (repo: Repository): Record<string, Value> => {
  const [owner, name] = repo.fullName.split('/') as [string, string];
  return { full_name: repo.fullName, name, owner: { login: owner }, default_branch: repo.defaultBranch ?? 'main', fork: false };
};

export function pushEvent(repo: Repository, options: { branch: string; sha: string; before?: string }): TriggerEvent {
  const ref = `refs/heads/${options.branch}`;
  return {
    name: 'push',
    ref,
    sha: options.sha,
    payload: { ref, before: options.before ?? '0'.repeat(40), after: options.sha, head_commit: { id: options.sha }, repository: repositoryPayload(repo), sender: { login: 'octocat' } },
  };
}

/**
 * A pull_request `opened` event. GitHub's GITHUB_SHA is a merge commit of head into base; here it is
 * the head commit (the emulator makes no merge refs), which is what the build sees either way.
 */
export function pullRequestEvent(repo: Repository, options: { number: number; head: string; headSha: string; base?: string; baseSha?: string; fork?: boolean }): TriggerEvent {
  const base = options.base ?? repo.defaultBranch ?? 'main';
  const headRepo = options.fork ? { ...repositoryPayload({ fullName: `fork/${repo.fullName.split('/')[1]}` }), fork: true } : repositoryPayload(repo);
  return {
    name: 'pull_request',
    ref: `refs/pull/${options.number}/merge`,
    sha: options.headSha,
    headRef: options.head,
    baseRef: base,
    payload: {
      action: 'opened',
      number: options.number,
      pull_request: {
        number: options.number,
        head: { ref: options.head, sha: options.headSha, repo: headRepo },
        base: { ref: base, sha: options.baseSha ?? '0'.repeat(40), repo: repositoryPayload(repo) },
      },
      repository: repositoryPayload(repo),
      sender: { login: 'octocat' },
    },
  };
}

/**
 * A merge queue's `checks_requested`: GitHub runs the group's merged commit on a temporary branch,
 * gh-readonly-queue/<base>/pr-<N>-<base sha>, and lands that very commit on the base when it passes.
 * github.head_ref and base_ref stay empty, as for any event but pull_request.
 */
export function mergeGroupEvent(repo: Repository, options: { number: number; headSha: string; baseSha: string; base?: string }): TriggerEvent {
  const base = options.base ?? repo.defaultBranch ?? 'main';
  const ref = mergeQueueBranch(options.number, options.baseSha, base);
  return {
    name: 'merge_group',
    ref: `refs/heads/${ref}`,
    sha: options.headSha,
    payload: {
      action: 'checks_requested',
      merge_group: { head_sha: options.headSha, head_ref: `refs/heads/${ref}`, base_sha: options.baseSha, base_ref: `refs/heads/${base}`, head_commit: { id: options.headSha } },
      repository: repositoryPayload(repo),
      sender: { login: 'octocat' },
    },
  };
}

/** The branch a merge queue tests pull request N on, over the base at baseSha. */
export const mergeQueueBranch = (number: number, baseSha: string, base = 'main'): string => `gh-readonly-queue/${base}/pr-${number}-${baseSha}`;

/** A scheduled run: on the default branch's latest commit. */
export function scheduleEvent(repo: Repository, options: { cron: string; sha: string }): TriggerEvent {
  return { name: 'schedule', ref: `refs/heads/${repo.defaultBranch ?? 'main'}`, sha: options.sha, payload: { schedule: options.cron, repository: repositoryPayload(repo) } };
}

export function workflowDispatchEvent(repo: Repository, options: { branch: string; sha: string; inputs?: Record<string, Value> }): TriggerEvent {
  return {
    name: 'workflow_dispatch',
    ref: `refs/heads/${options.branch}`,
    sha: options.sha,
    inputs: options.inputs ?? {},
    payload: { ref: `refs/heads/${options.branch}`, inputs: options.inputs ?? {}, repository: repositoryPayload(repo), sender: { login: 'octocat' } },
  };
}

const refName = (ref: string): string => ref.replace(/^refs\/(heads|tags)\//, '');

/** The `github` context of a run; `job` and `action` are filled per job and step. */
export function githubContext(event: TriggerEvent, settings: { repository: string; token: string; serverUrl: string; apiUrl: string; graphqlUrl: string; workflow: string; runId: string }): Record<string, Value> {
  const [owner] = settings.repository.split('/') as [string];
  return {
    event_name: event.name,
    event: event.payload,
    ref: event.ref,
    ref_name: event.name === 'pull_request' ? (event.ref.split('/').slice(2).join('/')) : refName(event.ref),
    ref_type: event.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha: event.sha,
    head_ref: event.headRef ?? '',
    base_ref: event.baseRef ?? '',
    repository: settings.repository,
    repository_owner: owner,
    actor: 'octocat',
    triggering_actor: 'octocat',
    workflow: settings.workflow,
    run_id: settings.runId,
    run_number: '1',
    run_attempt: '1',
    server_url: settings.serverUrl,
    api_url: settings.apiUrl,
    graphql_url: settings.graphqlUrl,
    token: settings.token,
    retention_days: '90',
  };
}

/** The GITHUB_* variables every step gets, from the `github` context. */
export function githubEnvironment(github: Record<string, Value>): Record<string, string> {
  const s = (key: string): string => String(github[key] ?? '');
  return {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: s('event_name'),
    GITHUB_REF: s('ref'),
    GITHUB_REF_NAME: s('ref_name'),
    GITHUB_REF_TYPE: s('ref_type'),
    GITHUB_SHA: s('sha'),
    GITHUB_HEAD_REF: s('head_ref'),
    GITHUB_BASE_REF: s('base_ref'),
    GITHUB_REPOSITORY: s('repository'),
    GITHUB_REPOSITORY_OWNER: s('repository_owner'),
    GITHUB_ACTOR: s('actor'),
    GITHUB_TRIGGERING_ACTOR: s('triggering_actor'),
    GITHUB_WORKFLOW: s('workflow'),
    GITHUB_RUN_ID: s('run_id'),
    GITHUB_RUN_NUMBER: s('run_number'),
    GITHUB_RUN_ATTEMPT: s('run_attempt'),
    GITHUB_SERVER_URL: s('server_url'),
    GITHUB_API_URL: s('api_url'),
    GITHUB_GRAPHQL_URL: s('graphql_url'),
    GITHUB_JOB: s('job'),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
  };
}
