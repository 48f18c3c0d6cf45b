import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createGitHubClient } from '../../../src/github/client.js';
import { GitHubAccessError, httpStatusOf } from '../../../src/github/errors.js';
import { memoryLog } from '../../../src/util/log.js';

/** An API that answers every request with `status` and GitHub's error body. */
async function api(status: number, message: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message, documentation_url: 'https://docs.github.com/rest' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('GitHub access failures name the input and the fix', () => {
  it('a refused token (401 Bad credentials)', async () => {
    const { url, server } = await api(401, 'Bad credentials');
    try {
      const client = createGitHubClient({ token: 'ghs_expired', baseUrl: url, tokenInput: 'github-token', log: memoryLog(), retryDelayMs: 1 });
      const error = await client.octokit.rest.repos.get({ owner: 'o', repo: 'r' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitHubAccessError);
      expect((error as Error).message).toBe(
        `GitHub refused the \`github-token\` input at ${url} (401 "Bad credentials"): it is wrong, expired or revoked. ` +
          'Pass `${{ secrets.GITHUB_TOKEN }}` with the job\'s `permissions:`, or a fresh GitHub App installation token (they expire after an hour).',
      );
      expect(httpStatusOf(error)).toBe(401);
      expect((error as Error).message).not.toContain('ghs_expired');
    } finally {
      server.close();
    }
  });

  it('an API that cannot be reached (connection refused), after its retries', async () => {
    const { url, server } = await api(200, 'unused');
    server.close();
    await once(server, 'close');
    const client = createGitHubClient({ token: 't', baseUrl: url, log: memoryLog(), retryDelayMs: 1 });
    const error = await client.octokit.rest.repos.get({ owner: 'o', repo: 'r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubAccessError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach the GitHub API at ${url} \\(.+\\): check GITHUB_API_URL \\(GitHub Enterprise Server: https://HOST/api/v3\\), the network and any proxy$`));
  });

  it('leaves answers the callers classify (404, 403) as they are', async () => {
    const { url, server } = await api(404, 'Not Found');
    try {
      const client = createGitHubClient({ token: 't', baseUrl: url, log: memoryLog(), retryDelayMs: 1 });
      const error = await client.octokit.rest.repos.get({ owner: 'o', repo: 'r' }).catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(GitHubAccessError);
      expect(httpStatusOf(error)).toBe(404);
    } finally {
      server.close();
    }
  });
});
