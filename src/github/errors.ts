import { UserError } from '../util/errors.js';

/** The HTTP status of an Octokit request error (undefined for network errors and others). */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error) {
    const status = (error as { status: unknown }).status;
    if (typeof status === 'number' && status >= 100) return status;
  }
  return undefined;
}

/** GitHub's `message` (and field errors) from an error response, for messages to users. */
export function githubErrorMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } })?.response?.data;
  if (data && typeof data === 'object') {
    const body = data as { message?: string; errors?: Array<{ message?: string; code?: string; field?: string } | string> };
    const details = (body.errors ?? [])
      .map((e) => (typeof e === 'string' ? e : (e.message ?? [e.field, e.code].filter(Boolean).join(' '))))
      .filter(Boolean);
    if (body.message) return details.length ? `${body.message}: ${details.join('; ')}` : body.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * A failure no caller can act on but the user: the API cannot be reached, or it refuses the token.
 * Keeps the HTTP status (when there is one) for `httpStatusOf`.
 */
export class GitHubAccessError extends UserError {
  override name = 'GitHubAccessError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Turns an unreachable API or a refused token into an error that names the input and the fix; others pass unchanged. */
export function explainAccessFailure(error: unknown, baseUrl: string, tokenInput = 'token', request = 'the request'): unknown {
  const status = httpStatusOf(error);
  const missing = status === 403 ? missingPermissions(error) : undefined;
  if (missing) {
    return new GitHubAccessError(
      `GitHub refused ${request} with the \`${tokenInput}\` input (403 "${githubErrorMessage(error)}"): the token lacks ${missing.map(describeGrants).join(', or ')}. ` +
        `With \`\${{ secrets.GITHUB_TOKEN }}\` add it to the job's \`permissions:\` (${missing.map((set) => set.map(({ name, level }) => `${name.replace(/_/g, '-')}: ${level}`).join(', ')).join(' or ')}); ` +
        'with a GitHub App installation token, give the App that permission (and accept it on the installation) before minting the token.',
      403,
    );
  }
  if (status === 401) {
    return new GitHubAccessError(
      `GitHub refused the \`${tokenInput}\` input at ${baseUrl} (401 "${githubErrorMessage(error)}"): it is wrong, expired or revoked. ` +
        'Pass `${{ secrets.GITHUB_TOKEN }}` with the job\'s `permissions:`, or a fresh GitHub App installation token (they expire after an hour).',
      401,
    );
  }
  // Octokit reports a request that got no answer at all as status 500 without a response.
  const answered = typeof error === 'object' && error !== null && (error as { response?: unknown }).response !== undefined;
  if (!answered && (status === undefined || status === 500) && error instanceof Error && !(error instanceof UserError)) {
    return new GitHubAccessError(
      `cannot reach the GitHub API at ${baseUrl} (${error.message}): check GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3), the network and any proxy`,
    );
  }
  return error;
}

interface Grant {
  name: string;
  level: string;
}

/**
 * What a refused fine-grained token (GitHub App, GITHUB_TOKEN, fine-grained PAT) lacks, from GitHub's
 * X-Accepted-GitHub-Permissions header: sets that would each do, `;`-separated, of `name=level`
 * grants, `,`-separated. Undefined for other refusals (a setting, a ruleset) and other tokens.
 */
export function missingPermissions(error: unknown): Grant[][] | undefined {
  const headers = (error as { response?: { headers?: Record<string, unknown> } })?.response?.headers;
  const header = headers?.['x-accepted-github-permissions'];
  if (typeof header !== 'string' || !/not accessible by/i.test(githubErrorMessage(error))) return undefined;
  const sets = header
    .split(';')
    .map((set) =>
      set
        .split(',')
        .map((grant) => /^\s*([a-z_]+)=([a-z]+)\s*$/.exec(grant))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ name: m[1] as string, level: m[2] as string })),
    )
    .filter((set) => set.length > 0);
  return sets.length > 0 ? sets : undefined;
}

const describeGrants = (set: readonly Grant[]): string => set.map(({ name, level }) => `${name}: ${level}`).join(' and ');

export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

export class GitHubGraphqlError extends Error {
  override name = 'GitHubGraphqlError';
  constructor(readonly errors: Array<{ message: string; type?: string }>) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/** The workflow token may not open pull requests: says which setting fixes it. */
export class PullRequestsNotPermittedError extends UserError {
  override name = 'PullRequestsNotPermittedError';
  constructor(
    readonly repository: string,
    githubMessage: string,
  ) {
    super(
      `GitHub refused to let this token open pull requests in ${repository} ("${githubMessage}"). ` +
        'Fix it in the repository (or organization) settings: Settings → Actions → General → Workflow permissions → ' +
        'check "Allow GitHub Actions to create and approve pull requests", and give the job `permissions: { contents: write, pull-requests: write }`; ' +
        'or pass a token of a GitHub App or user with those permissions in `token`.',
    );
  }
}

/** The token lacks a permission the job needs (403 "Resource not accessible by integration"). */
export class GitHubPermissionError extends UserError {
  override name = 'GitHubPermissionError';
  constructor(action: string, needed: string, githubMessage: string) {
    super(`GitHub refused to ${action} ("${githubMessage}"): the token needs ${needed}. Add it to the job's \`permissions:\` block (or use a token that has it).`);
  }
}

export const ACTIONS_CANNOT_CREATE_PULL_REQUESTS = /not permitted to create or approve pull requests/i;
