import { Octokit } from '@octokit/rest';
import { consoleLog, type Log } from '../util/log.js';
import { proxiedFetch } from '../util/proxy.js';
import { retry } from '../util/retry.js';
import { explainAccessFailure, GitHubGraphqlError, httpStatusOf } from './errors.js';

/** Which repository a call is about. */
export interface RepoRef {
  owner: string;
  repo: string;
}

export interface GitHubClientOptions {
  token: string;
  /** REST root; defaults to GITHUB_API_URL, then https://api.github.com (GHES: https://HOST/api/v3). */
  baseUrl?: string;
  /** GraphQL endpoint; defaults to GITHUB_GRAPHQL_URL, then `<REST root>/graphql` (GHES: /api/graphql). */
  graphqlUrl?: string;
  log?: Log;
  userAgent?: string;
  /** Attempts for requests that are safe to repeat (reads, Git object writes) on 5xx and network errors. */
  attempts?: number;
  /** First retry delay; doubles each time (default 1 s). */
  retryDelayMs?: number;
  env?: NodeJS.ProcessEnv;
  /** The input the token came from, for messages (default `token`). */
  tokenInput?: string;
}

export interface GitHubClient {
  octokit: Octokit;
  /** A GraphQL query or mutation; throws GitHubGraphqlError when the answer carries `errors`. */
  graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  log: Log;
  baseUrl: string;
  graphqlUrl: string;
}

/** Repeating these cannot do anything twice: Git objects are content-addressed. */
const IDEMPOTENT_POST = /\/git\/(blobs|trees|commits)$/;

/** Network errors (no status), server errors and rate limiting may pass. */
function isTransient(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined || status >= 500 || status === 429;
}

function defaultGraphqlUrl(baseUrl: string): string {
  // GitHub Enterprise Server serves REST at /api/v3 and GraphQL at /api/graphql.
  return /\/api\/v3\/?$/.test(baseUrl) ? baseUrl.replace(/\/api\/v3\/?$/, '/api/graphql') : `${baseUrl.replace(/\/+$/, '')}/graphql`;
}

/**
 * An Octokit for one token. The token lives only in this object's memory; Octokit sends it as an
 * Authorization header and never logs it.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const env = options.env ?? process.env;
  const log = options.log ?? consoleLog;
  const baseUrl = (options.baseUrl ?? env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const graphqlUrl = options.graphqlUrl ?? env.GITHUB_GRAPHQL_URL ?? defaultGraphqlUrl(baseUrl);
  const attempts = Math.max(1, options.attempts ?? 3);
  const retryDelayMs = options.retryDelayMs ?? 1000;
  log.secret(options.token);
  const octokit = new Octokit({
    auth: options.token,
    baseUrl,
    userAgent: options.userAgent ?? 'fleet-actions',
    request: { fetch: proxiedFetch },
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log.debug(m), error: (m: string) => log.debug(m) },
  });
  octokit.hook.wrap('request', async (request, endpoint) => {
    const method = String(endpoint.method).toUpperCase();
    const url = String(endpoint.url);
    const repeatable = method === 'GET' || method === 'HEAD' || (method === 'POST' && IDEMPOTENT_POST.test(url.split('?')[0] ?? ''));
    try {
      return await retry(async () => request(endpoint), {
        attempts: repeatable ? attempts : 1,
        isRetryable: isTransient,
        delayMs: (retryIndex) => retryDelayMs * 2 ** retryIndex,
        onRetry: ({ error, attempt }) => log.debug(`${method} ${url} failed (${httpStatusOf(error) ?? 'network error'}); retry ${attempt} of ${attempts - 1}`),
      });
    } catch (error) {
      throw explainAccessFailure(error, baseUrl, options.tokenInput, `${method} ${String(endpoint.url)}`);
    }
  });
  return {
    octokit,
    log,
    baseUrl,
    graphqlUrl,
    async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const response = await octokit.request({ method: 'POST', url: graphqlUrl, query, variables });
      const data = response.data as { data?: T; errors?: Array<{ message: string; type?: string }> };
      if (data.errors && data.errors.length > 0) throw new GitHubGraphqlError(data.errors);
      return data.data as T;
    },
  };
}
