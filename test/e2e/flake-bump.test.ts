import { runAction } from '../support/harness.js';
import { offlineNixEnv } from '../support/nix.js';
import { createFleetRepo, git, versionsJson, type FleetRepo } from '../integration/bump-fixtures.js';

let repo: FleetRepo;

beforeAll(async () => {
  repo = await createFleetRepo({ collaborators: ['alice'] });
});

afterAll(async () => {
  await repo?.stop();
});

function run(inputs: Record<string, string>) {
  return runAction('action-flake-bump', {
    inputs,
    githubToken: repo.gh.token,
    cwd: repo.workspace,
    env: { ...repo.gh.env(), NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
  });
}

describe('action-flake-bump bundle under the runner harness', () => {
  it('opens the bump pull request, then fails the step on a broken check after updating it', async () => {
    const rev = await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) }, 'openssl: 3.0.16');

    const first = await run({ checks: 'build', reviewers: 'alice', labels: 'dependencies, security' });
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.outputs.operation).toBe('created');
    expect(first.outputs['pull-request-number']).toBe('1');
    expect(first.outputs['pull-request-url']).toBe('https://github.com/acme/fleet/pull/1');
    expect(first.outputs['failed-checks']).toBe('0');
    const changes = JSON.parse(first.outputs.changes as string) as Array<{ name: string; kind: string; old: { rev: string }; new: { rev: string }; lockPath: string; group: string }>;
    expect(changes).toEqual([expect.objectContaining({ name: 'pkgs', kind: 'updated', lockPath: 'flake.lock', group: 'all', new: expect.objectContaining({ rev }) })]);
    expect(JSON.parse(first.outputs['pull-requests'] as string)).toEqual([{ group: 'all', branch: 'flake-bump', operation: 'created', number: 1, url: 'https://github.com/acme/fleet/pull/1' }]);
    expect(first.summary).toContain('fleet flake bump');
    expect(first.summary).toContain('<td>commit-method</td><td>api</td>');
    expect(first.summary).toContain('<td>all</td><td>flake-bump</td><td>created</td>');
    // The token is masked as soon as it is read, and never printed otherwise.
    expect(first.stdout.split('\n').filter((l) => l.includes(repo.gh.token))).toEqual([`::add-mask::${repo.gh.token}`, `::add-mask::${repo.gh.token}`]);
    expect(first.summary).not.toContain(repo.gh.token);

    const pull = repo.gh.state.pulls.get(1);
    const firstHead = pull?.headSha as string;
    expect(pull?.requestedReviewers).toEqual(['alice']);
    expect(repo.gh.state.issue(1)?.labels.sort()).toEqual(['dependencies', 'security']);
    expect(repo.gh.state.signedCommits.has(firstHead)).toBe(true);
    expect(await git(repo.gh.bareRepo, 'diff', '--name-only', 'main', 'flake-bump')).toBe('flake.lock');
    const body = repo.gh.state.issue(1)?.body ?? '';
    expect(body).toContain('| openssl | 3.0.15 → 3.0.16 |');
    expect(body).toContain('| build web1 | ✅ passed |');

    // Upstream breaks a host: the pull request is updated with the failure, then the step fails.
    await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2', broken: true }) }, 'break db1');
    const second = await run({ checks: 'eval' });
    expect(second.exitCode).toBe(1);
    expect(second.outputs.operation).toBe('updated');
    expect(second.outputs['failed-checks']).toBe('1');
    expect(second.annotations).toContainEqual({ level: 'error', message: '1 check failed after the update (eval db1) (details in https://github.com/acme/fleet/pull/1)' });
    expect(repo.gh.state.issue(1)?.body).toContain('| eval db1 | ❌ failed |');
    expect(await git(repo.gh.bareRepo, 'rev-parse', 'flake-bump^')).toBe(firstHead);
    repo.gh.assertNoViolations();
  });

  // A path naming another checkout was once bumped as the repository (and closed the real pull request).
  it.each([
    ['another git checkout, outside the workspace', () => repo.upstreams.pkgs.dir, 'outside the workspace'],
    ['a folder outside the workspace, by a relative path', () => '../seed', 'outside the workspace'],
    ['a folder that does not exist', () => 'fleets/missing', 'does not exist'],
  ])('fails on a path to %s, naming it, before any API call', async (_, path, problem) => {
    repo.gh.clearRequests();
    const result = await run({ path: path() });
    expect(result.exitCode).toBe(1);
    const errors = result.annotations.filter((a) => a.level === 'error').map((a) => a.message);
    expect(errors).toEqual([expect.stringContaining(`Input "path": "${path()}" `)]);
    expect(errors[0]).toContain(problem);
    expect(errors[0]).toContain('Example: path: .');
    expect(repo.gh.requests).toEqual([]);
  });

  it('rejects nix-options that are not name value pairs before touching anything', async () => {
    const result = await run({ 'nix-options': 'max-jobs' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toBe('Input "nix-options": "max-jobs" is not a "name value" pair. Example: nix-options: max-jobs 4');
  });
});

describe('action-flake-bump on GitHub Enterprise Server', () => {
  let ghes: FleetRepo;

  beforeAll(async () => {
    ghes = await createFleetRepo({ enterprise: true, serverUrl: 'https://ghe.example.org' });
  });
  afterAll(async () => {
    await ghes?.stop();
  });

  it('reaches REST under /api/v3 and GraphQL at /api/graphql, as the GHES runner says, and links to the GHES host', async () => {
    const env = ghes.gh.env();
    expect(env).toMatchObject({ GITHUB_API_URL: expect.stringMatching(/\/api\/v3$/), GITHUB_GRAPHQL_URL: expect.stringMatching(/\/api\/graphql$/), GITHUB_SERVER_URL: 'https://ghe.example.org' });
    await ghes.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) }, 'openssl: 3.0.16');
    const result = await runAction('action-flake-bump', {
      inputs: { checks: 'eval' },
      githubToken: ghes.gh.token,
      cwd: ghes.workspace,
      env: { ...env, NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.outputs.operation).toBe('created');
    expect(result.outputs['pull-request-url']).toBe('https://ghe.example.org/acme/fleet/pull/1');
    // Every request landed inside the mount (the emulator answers 404 to anything outside it, as GHES does).
    expect(ghes.gh.requests.length).toBeGreaterThan(0);
    expect(ghes.gh.requests.filter((r) => r.status === 404 && !r.operationId)).toEqual([]);
    expect(result.summary).not.toContain('https://github.com/acme');
    ghes.gh.assertNoViolations();
  });
});

describe('action-flake-bump with a GitHub App installation token', () => {
  let app: FleetRepo;

  beforeAll(async () => {
    // The token actions/create-github-app-token mints, for an App granted contents but not pull requests.
    app = await createFleetRepo({ token: `ghs_app_${'a'.repeat(30)}`, permissions: { pullRequests: 'read' } });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('takes it as the token input, and names the permission the App lacks', async () => {
    await app.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) }, 'openssl: 3.0.16');
    const { GITHUB_TOKEN: _workflowToken, ...env } = app.gh.env();
    const result = await runAction('action-flake-bump', {
      inputs: { checks: 'eval', token: app.gh.token },
      cwd: app.workspace,
      env: { ...env, NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });
    expect(result.exitCode).toBe(1);
    const error = result.annotations.find((a) => a.level === 'error')?.message ?? '';
    expect(error).toContain('403 "Resource not accessible by integration"');
    expect(error).toContain('the token lacks pull_requests: write');
    expect(error).toContain('pull-requests: write');
    expect(error).toContain('GitHub App');
    expect(app.gh.state.pulls.size).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l.includes(app.gh.token))).toEqual(expect.arrayContaining([`::add-mask::${app.gh.token}`]));
    expect(result.stdout.split('\n').filter((l) => l.includes(app.gh.token) && !l.startsWith('::add-mask::'))).toEqual([]);
  });
});
