import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apiBranchWriter,
  createGitHubClient,
  gitBlobSha,
  gitBranchWriter,
  PullRequestsNotPermittedError,
  upsertPullRequest,
  type GitHubClient,
  type UpsertPullRequestOptions,
} from '../../src/github/index.js';
import { exec } from '../../src/util/exec.js';
import { memoryLog } from '../../src/util/log.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';

const repo = { owner: 'acme', repo: 'fleet' };
const marker = '<!-- test:upsert -->';

const emulators: GitHubEmulator[] = [];
const dirs: string[] = [];

async function emulator(options: Parameters<typeof startGitHubEmulator>[0] = {}): Promise<{ gh: GitHubEmulator; client: GitHubClient; log: ReturnType<typeof memoryLog> }> {
  const gh = await startGitHubEmulator({ owner: 'acme', repo: 'fleet', defaultBranch: 'main', initialFiles: { 'README.md': '# fleet\n', 'flake.lock': 'v1\n' }, ...options });
  emulators.push(gh);
  const log = memoryLog();
  const client = createGitHubClient({ token: gh.token, baseUrl: gh.apiUrl, graphqlUrl: gh.graphqlUrl, log, retryDelayMs: 1 });
  return { gh, client, log };
}

function upsert(client: GitHubClient, overrides: Partial<UpsertPullRequestOptions> = {}) {
  return upsertPullRequest(client, repo, {
    branch: 'bump',
    title: 'bump it',
    body: `${marker}\nbody one`,
    marker,
    files: { 'flake.lock': 'v2\n' },
    commitMessage: 'bump it\n',
    ...overrides,
  });
}

const git = async (cwd: string, ...args: string[]) => (await exec('git', args, { cwd })).stdout.trim();
const show = (gh: GitHubEmulator, rev: string) => git(gh.bareRepo, 'show', rev);

afterEach(async () => {
  const current = emulators.splice(0);
  await Promise.all(current.map((gh) => gh.stop()));
  for (const gh of current) gh.assertNoViolations();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('upsertPullRequest against the GitHub emulator', () => {
  it('creates a branch with a signed API commit and opens the pull request', async () => {
    const { gh, client } = await emulator();
    const baseSha = await gh.branchSha('main');
    const result = await upsert(client, { labels: ['dependencies'] });
    expect(result.operation).toBe('created');
    expect(result.pullRequest?.number).toBe(1);
    const head = await gh.branchSha('bump');
    expect(head).toBe(result.commitSha);
    expect(await show(gh, 'bump:flake.lock')).toBe('v2');
    expect(await show(gh, 'bump:README.md')).toBe('# fleet');
    expect(await git(gh.bareRepo, 'rev-parse', 'bump^')).toBe(baseSha);
    // No author given: GitHub commits as the token and signs it (Verified).
    expect(gh.state.signedCommits.has(head as string)).toBe(true);
    expect(gh.state.label('dependencies')).toBeDefined();
    expect(gh.state.issue(1)?.labels).toEqual(['dependencies']);
  });

  it('adds a commit on top for new content, leaves identical content alone, and refreshes the body', async () => {
    const { gh, client } = await emulator();
    const first = await upsert(client);
    const second = await upsert(client, { files: { 'flake.lock': 'v3\n' }, body: `${marker}\nbody two` });
    expect(second.operation).toBe('updated');
    expect(second.pullRequest?.number).toBe(first.pullRequest?.number);
    expect(await git(gh.bareRepo, 'rev-parse', 'bump^')).toBe(first.commitSha);
    expect(await show(gh, 'bump:flake.lock')).toBe('v3');
    expect(gh.state.issue(1)?.body).toBe(`${marker}\nbody two`);

    gh.clearRequests();
    const third = await upsert(client, { files: { 'flake.lock': 'v3\n' }, body: `${marker}\nbody two` });
    expect(third.operation).toBe('unchanged');
    expect(third.commitSha).toBeUndefined();
    expect(await gh.branchSha('bump')).toBe(second.commitSha);
    const writes = gh.requests.filter((r) => r.method !== 'GET');
    expect(writes).toEqual([]);
  });

  it('merges a moved base into the branch so the pull request shows only its files', async () => {
    const { gh, client } = await emulator();
    const first = await upsert(client);
    const moved = await gh.seed({ 'docs.md': 'new docs\n' }, { message: 'docs' });
    const result = await upsert(client, { files: { 'flake.lock': 'v3\n' } });
    expect(result.operation).toBe('updated');
    const parents = (await git(gh.bareRepo, 'rev-list', '--parents', '-n', '1', 'bump')).split(' ').slice(1);
    expect(parents).toEqual([first.commitSha, moved]);
    expect(await git(gh.bareRepo, 'diff', '--name-only', 'main', 'bump')).toBe('flake.lock');
  });

  it('closes its pull request and deletes the branch once the base has the changes', async () => {
    const { gh, client } = await emulator();
    await upsert(client);
    await gh.seed({ 'flake.lock': 'v2\n' }, { message: 'someone bumped it by hand' });
    const result = await upsert(client);
    expect(result.operation).toBe('closed');
    expect(gh.state.issue(1)?.state).toBe('closed');
    expect(await gh.branchSha('bump')).toBeUndefined();
    expect([...gh.state.comments.values()].map((c) => c.body)).toEqual([expect.stringContaining('already has these changes')]);
    // Nothing open and nothing to do: no pull request at all.
    expect((await upsert(client)).operation).toBe('unchanged');
    expect(gh.state.pulls.size).toBe(1);
  });

  it('refuses to touch an open pull request it did not open', async () => {
    const { gh, client } = await emulator();
    await gh.seed({ 'x.txt': 'mine\n' }, { branch: 'bump', from: 'main', message: 'human work' });
    await client.octokit.rest.pulls.create({ ...repo, head: 'bump', base: 'main', title: 'a human PR', body: 'hand written' });
    await expect(upsert(client)).rejects.toThrow(/#1 .*was not opened by this action/);
    expect(await show(gh, 'bump:x.txt')).toBe('mine');
  });

  it('fails with the setting to change, before pushing anything, when Actions may not open pull requests', async () => {
    const { gh, client } = await emulator({ permissions: { allowActionsToCreatePullRequests: false } });
    const error = await upsert(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PullRequestsNotPermittedError);
    expect((error as Error).message).toContain('Settings → Actions → General');
    expect((error as Error).message).toContain('Allow GitHub Actions to create and approve pull requests');
    expect(await gh.branchSha('bump')).toBeUndefined();
    expect(gh.requests.filter((r) => r.operationId?.startsWith('git/create'))).toEqual([]);
  });

  it('deletes the branch it pushed when opening the pull request fails anyway', async () => {
    const { gh, client } = await emulator();
    // The permission probe passes; the real creation is refused.
    gh.failNext('POST', '/repos/{owner}/{repo}/pulls', 422, { message: 'Validation Failed', documentation_url: 'https://docs.github.com/rest', status: '422', errors: [{ resource: 'PullRequest', code: 'custom', message: 'No commits between main and main' }] });
    gh.failNext('POST', '/repos/{owner}/{repo}/pulls', 403, { message: 'GitHub Actions is not permitted to create or approve pull requests.', documentation_url: 'https://docs.github.com/rest', status: '403' });
    await expect(upsert(client)).rejects.toBeInstanceOf(PullRequestsNotPermittedError);
    expect(await gh.branchSha('bump')).toBeUndefined();
  });

  it('retries Git object writes after a server error', async () => {
    const { gh, client } = await emulator();
    gh.failNext('POST', '/repos/{owner}/{repo}/git/blobs', 502, { message: 'Server Error' });
    const result = await upsert(client);
    expect(result.operation).toBe('created');
    expect(gh.requests.filter((r) => r.operationId === 'git/create-blob').map((r) => r.status)).toEqual([502, 201]);
  });

  it('does not retry a failed pull request update, and reports GitHub’s message', async () => {
    const { gh, client } = await emulator();
    await upsert(client);
    gh.failNext('PATCH', '/repos/{owner}/{repo}/pulls/{pull_number}', 500, { message: 'Server Error' });
    await expect(upsert(client, { body: `${marker}\nnew body` })).rejects.toThrow(/Server Error/);
    expect(gh.requests.filter((r) => r.operationId === 'pulls/update')).toHaveLength(1);
  });

  it('requests reviewers and warns about the ones who cannot review', async () => {
    const { gh, client, log } = await emulator({ collaborators: ['alice', 'bob'] });
    const result = await upsert(client, { reviewers: ['alice', 'mallory', 'acme/nix-team'] });
    expect(gh.state.pulls.get(1)?.requestedReviewers).toEqual(['alice']);
    expect(result.warnings.join('\n')).toMatch(/mallory/);
    expect(log.lines.some((l) => l.startsWith('warning:') && l.includes('mallory'))).toBe(true);
  });

  it('enables auto-merge with a method the repository allows', async () => {
    const { gh, client } = await emulator({ allowAutoMerge: true, allowSquashMerge: false, protectedBranches: { main: { requiredStatusChecks: ['build'] } } });
    const result = await upsert(client, { autoMerge: 'squash' });
    expect(result.autoMerge).toEqual({ enabled: true, method: 'merge', warning: expect.stringContaining('does not allow squash merges') });
    expect(gh.state.pulls.get(1)?.autoMerge?.method).toBe('merge');
    // Already on: the next run leaves it.
    gh.clearRequests();
    await upsert(client, { autoMerge: 'squash', files: { 'flake.lock': 'v3\n' } });
    expect(gh.requests.filter((r) => r.operationId === 'graphql')).toEqual([]);
  });

  it('warns clearly when the repository has auto-merge off', async () => {
    const { gh, client } = await emulator({ allowAutoMerge: false });
    const result = await upsert(client, { autoMerge: 'merge' });
    expect(result.operation).toBe('created');
    expect(result.autoMerge).toEqual({ enabled: false, warning: expect.stringContaining('Allow auto-merge') });
    expect(gh.state.pulls.get(1)?.autoMerge).toBeNull();
  });

  it('pushes with git (no force) when asked to, from a clone', async () => {
    const { gh, client } = await emulator();
    const dir = await mkdtemp(join(tmpdir(), 'fleet-clone-'));
    dirs.push(dir);
    await exec('git', ['clone', '--quiet', '--depth', '1', gh.cloneUrl, dir]);
    const writer = gitBranchWriter({ cwd: dir, token: 'unused-for-file-remotes' });
    const first = await upsert(client, { writer });
    expect(first.operation).toBe('created');
    expect(await show(gh, 'bump:flake.lock')).toBe('v2');
    const second = await upsert(client, { writer, files: { 'flake.lock': 'v3\n', 'README.md': null } });
    expect(second.operation).toBe('updated');
    expect(await git(gh.bareRepo, 'rev-parse', 'bump^')).toBe(first.commitSha);
    expect(await git(gh.bareRepo, 'ls-tree', '--name-only', 'bump')).toBe('flake.lock');
    // The checkout itself is untouched.
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    expect(gh.state.signedCommits.has(second.commitSha as string)).toBe(false);
  });

  it('computes the blob ids GitHub lists in trees', async () => {
    const { gh, client } = await emulator();
    await upsert(client, { writer: apiBranchWriter(client, repo) });
    expect(await git(gh.bareRepo, 'rev-parse', 'bump:flake.lock')).toBe(gitBlobSha('v2\n'));
  });
});
