import { readFileSync } from 'node:fs';

/** What the runner tells an action about the run, read from its environment. */
export interface RunContext {
  repository: string;
  owner: string;
  repo: string;
  ref: string;
  sha: string;
  eventName: string;
  runUrl: string;
  apiUrl: string;
  graphqlUrl: string;
  serverUrl: string;
  workspace: string;
  /** True for a pull request whose head lives in a fork (no secrets, no write credentials). */
  fromFork: boolean;
}

export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const repository = env.GITHUB_REPOSITORY ?? 'local/fleet';
  const [owner = 'local', repo = 'fleet'] = repository.split('/');
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const runId = env.GITHUB_RUN_ID ?? '0';
  return {
    repository,
    owner,
    repo,
    ref: env.GITHUB_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    eventName: env.GITHUB_EVENT_NAME ?? '',
    runUrl: `${serverUrl}/${repository}/actions/runs/${runId}`,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    graphqlUrl: env.GITHUB_GRAPHQL_URL ?? 'https://api.github.com/graphql',
    serverUrl,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    fromFork: isForkPullRequest(env),
  };
}

function isForkPullRequest(env: NodeJS.ProcessEnv): boolean {
  if (!env.GITHUB_EVENT_NAME?.startsWith('pull_request') || !env.GITHUB_EVENT_PATH) return false;
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as {
      pull_request?: { head?: { repo?: { full_name?: string; fork?: boolean } } };
      repository?: { full_name?: string };
    };
    const head = event.pull_request?.head?.repo;
    return Boolean(head?.fork) || (head?.full_name !== undefined && head.full_name !== event.repository?.full_name);
  } catch {
    // An unreadable event on a pull request: assume the worst.
    return true;
  }
}
