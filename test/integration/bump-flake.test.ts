import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFlakeBump, type FlakeBumpOptions } from '../../src/bump/bump.js';
import { createGitHubClient, gitBranchWriter, PullRequestsNotPermittedError } from '../../src/github/index.js';
import { Nix, type NixSettings } from '../../src/nix/index.js';
import { memoryLog } from '../../src/util/log.js';
import { offlineNixEnv } from '../support/nix.js';
import { bumpHelperThroughTools, createFleetRepo, fleetFlake, git, versionsJson, type FleetRepo } from './bump-fixtures.js';

const repos: FleetRepo[] = [];

afterAll(async () => {
  await Promise.all(repos.map((r) => r.stop()));
});

async function fleet(options: Parameters<typeof createFleetRepo>[0] = {}): Promise<FleetRepo> {
  const repo = await createFleetRepo(options);
  repos.push(repo);
  return repo;
}

function bump(repo: FleetRepo, overrides: Partial<FlakeBumpOptions> = {}) {
  const log = memoryLog();
  const nixSettings: NixSettings = { log, env: offlineNixEnv() };
  return runFlakeBump({
    flakes: ['.'],
    cwd: repo.workspace,
    inputs: [],
    group: 'all',
    branch: 'flake-bump',
    title: 'flake.lock: update',
    labels: ['dependencies'],
    reviewers: [],
    autoMerge: 'off',
    checks: 'eval',
    diffHosts: [],
    nix: new Nix(nixSettings),
    client: createGitHubClient({ token: repo.gh.token, baseUrl: repo.gh.apiUrl, graphqlUrl: repo.gh.graphqlUrl, log, retryDelayMs: 1 }),
    repo: { owner: 'acme', repo: 'fleet' },
    log,
    ...overrides,
  }).then((outcome) => ({ outcome, log }));
}

const bodyOf = (repo: FleetRepo, number: number) => repo.gh.state.issue(number)?.body ?? '';

describe('flake bump against the GitHub emulator with git+file inputs', () => {
  it('creates, updates, leaves alone and finally closes one bump pull request', async () => {
    const repo = await fleet();
    const { pkgs, tools } = repo.upstreams;
    const mainBefore = await repo.gh.branchSha('main');

    // Upstream moves: a security release of openssl, and tools picks up a new helper.
    const pkgsRev1 = await pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) }, 'openssl: 3.0.16');
    await bumpHelperThroughTools(repo.upstreams, 'hello v2');
    const toolsRev1 = await tools.head();

    const first = await bump(repo, { checks: 'build' });
    expect(first.outcome.operation).toBe('created');
    expect(first.outcome.pullRequest?.number).toBe(1);
    expect(first.outcome.changes.map((c) => [c.name, c.kind, c.transitive])).toEqual([
      ['pkgs', 'updated', false],
      ['tools', 'updated', false],
      ['tools/helper', 'updated', true],
    ]);
    expect(first.outcome.changes.find((c) => c.name === 'pkgs')?.new?.rev).toBe(pkgsRev1);
    // The commit on the branch: base tree plus the new flake.lock, made through the API (signed).
    const head1 = (await repo.gh.branchSha('flake-bump')) as string;
    expect(await git(repo.gh.bareRepo, 'rev-parse', 'flake-bump^')).toBe(mainBefore);
    expect(await git(repo.gh.bareRepo, 'diff', '--name-only', 'main', 'flake-bump')).toBe('flake.lock');
    expect(repo.gh.state.signedCommits.has(head1)).toBe(true);
    const lock1 = await repo.lockOn('flake-bump');
    expect(lock1.nodes.pkgs?.locked?.rev).toBe(pkgsRev1);
    expect(lock1.nodes.tools?.locked?.rev).toBe(toolsRev1);
    expect(await git(repo.gh.bareRepo, 'log', '-1', '--format=%B', 'flake-bump')).toContain("• Updated input 'tools/helper':");
    // The checkout is left as it was.
    expect(await git(repo.workspace, 'status', '--porcelain')).toBe('');

    const body1 = bodyOf(repo, 1);
    expect(body1).toContain('<!-- fleet:flake-bump branch=flake-bump -->');
    expect(body1).toMatch(/\| `pkgs` \| `[0-9a-f]{7}` \d{4}-\d\d-\d\d \| `[0-9a-f]{7}` \d{4}-\d\d-\d\d \| 1 commit \|/);
    expect(body1).toContain('| `tools/helper` ↳ |');
    expect(body1).toContain('### Hosts');
    expect(body1).toMatch(/\| web1 \| [\d.]+ KiB → [\d.]+ KiB \| [+−±][\d.]+ (B|KiB) \| 1 changed \|/);
    expect(body1).toContain('| openssl | 3.0.15 → 3.0.16 |');
    expect(body1).toContain('✅ All 2 checks passed.');
    expect(repo.gh.state.issue(1)?.labels).toEqual(['dependencies']);
    expect(first.outcome.groups[0]?.report.flakes[0]?.closures.map((c) => c.host).sort()).toEqual(['db1', 'web1']);

    // Another upstream commit: the same pull request gets a commit on top.
    const pkgsRev2 = await pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.3' }) }, 'nginx: 1.26.3');
    const second = await bump(repo);
    expect(second.outcome.operation).toBe('updated');
    expect(second.outcome.pullRequest?.number).toBe(1);
    expect(await git(repo.gh.bareRepo, 'rev-parse', 'flake-bump^')).toBe(head1);
    expect((await repo.lockOn('flake-bump')).nodes.pkgs?.locked?.rev).toBe(pkgsRev2);
    expect(repo.gh.state.pulls.size).toBe(1);
    expect(bodyOf(repo, 1)).toContain('2 commits');

    // Nothing new upstream: nothing happens.
    const head2 = await repo.gh.branchSha('flake-bump');
    const bodyBefore = bodyOf(repo, 1);
    repo.gh.clearRequests();
    const third = await bump(repo);
    expect(third.outcome.operation).toBe('unchanged');
    expect(third.outcome.pullRequest?.number).toBe(1);
    expect(await repo.gh.branchSha('flake-bump')).toBe(head2);
    expect(bodyOf(repo, 1)).toBe(bodyBefore);
    expect(repo.gh.requests.filter((r) => r.method !== 'GET')).toEqual([]);

    // Someone lands the same lock on main by hand: the bump has nothing left and closes.
    await repo.gh.seed({ 'flake.lock': await git(repo.gh.bareRepo, 'show', 'flake-bump:flake.lock').then((t) => `${t}\n`) }, { message: 'flake.lock: manual update' });
    await repo.pull();
    const fourth = await bump(repo);
    expect(fourth.outcome.operation).toBe('closed');
    expect(fourth.outcome.changes).toEqual([]);
    expect(repo.gh.state.issue(1)?.state).toBe('closed');
    expect(await repo.gh.branchSha('flake-bump')).toBeUndefined();

    // And with nothing to do and nothing open, no pull request at all.
    const fifth = await bump(repo);
    expect(fifth.outcome.operation).toBe('unchanged');
    expect(fifth.outcome.pullRequest).toBeUndefined();
    expect(repo.gh.state.pulls.size).toBe(1);
    repo.gh.assertNoViolations();
  });

  it('opens one pull request per input, each changing only its input', async () => {
    const repo = await fleet();
    const { pkgs, tools } = repo.upstreams;
    const base = await repo.lockOn('main');
    const pkgsRev = await pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) });
    await bumpHelperThroughTools(repo.upstreams, 'hello v2');
    const toolsRev = await tools.head();

    const { outcome } = await bump(repo, { group: 'per-input', checks: 'none' });
    expect(outcome.groups.map((g) => [g.group, g.branch, g.operation, g.pullRequest?.number])).toEqual([
      ['pkgs', 'flake-bump-pkgs', 'created', 1],
      ['tools', 'flake-bump-tools', 'created', 2],
    ]);
    expect(outcome.operation).toBe('created');
    expect(outcome.pullRequest?.number).toBe(1);
    const pkgsLock = await repo.lockOn('flake-bump-pkgs');
    expect(pkgsLock.nodes.pkgs?.locked?.rev).toBe(pkgsRev);
    expect(pkgsLock.nodes.tools?.locked?.rev).toBe(base.nodes.tools?.locked?.rev);
    const toolsLock = await repo.lockOn('flake-bump-tools');
    expect(toolsLock.nodes.tools?.locked?.rev).toBe(toolsRev);
    expect(toolsLock.nodes.pkgs?.locked?.rev).toBe(base.nodes.pkgs?.locked?.rev);
    expect(repo.gh.state.issue(1)?.title).toBe('flake.lock: update (pkgs)');
    expect(bodyOf(repo, 2)).toContain('| `tools/helper` ↳ |');
    expect(bodyOf(repo, 1)).not.toContain('tools');
    expect(outcome.changes.map((c) => `${c.group}:${c.name}`)).toEqual(['pkgs:pkgs', 'tools:tools', 'tools:tools/helper']);

    // Only pkgs moves again: its pull request is updated, the other is left alone.
    await pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.17', nginx: '1.26.2' }) });
    const again = await bump(repo, { group: 'per-input', checks: 'none' });
    expect(again.outcome.groups.map((g) => [g.group, g.operation])).toEqual([
      ['pkgs', 'updated'],
      ['tools', 'unchanged'],
    ]);
    expect(again.outcome.operation).toBe('updated');
    repo.gh.assertNoViolations();
  });

  it('shows follows changes and inputs of inputs as such', async () => {
    const repo = await fleet();
    // main's flake.nix stops making tools follow the fleet's pkgs (lock not refreshed by hand).
    await repo.gh.seed({ 'flake.nix': fleetFlake(repo.upstreams, { follows: false }) }, { message: 'tools: own pkgs' });
    await repo.pull();
    const { outcome } = await bump(repo, { checks: 'none' });
    expect(outcome.operation).toBe('created');
    const follows = outcome.changes.find((c) => c.name === 'tools/pkgs');
    expect(follows).toMatchObject({ kind: 'follows', transitive: true, oldFollows: 'pkgs' });
    expect(follows?.new?.rev).toMatch(/^[0-9a-f]{40}$/);
    const body = bodyOf(repo, 1);
    expect(body).toMatch(/\| `tools\/pkgs` ↳ \| follows `pkgs` \| `[0-9a-f]{7}` [\d-]+ \| follows changed \|/);
    repo.gh.assertNoViolations();
  });

  it('reports failed checks in the pull request and to the caller', async () => {
    const repo = await fleet();
    await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2', broken: true }) }, 'break db1');
    const { outcome, log } = await bump(repo, { checks: 'eval' });
    expect(outcome.operation).toBe('created');
    expect(outcome.failedChecks.map((c) => `${c.kind} ${c.target}`)).toEqual(['eval db1']);
    const body = bodyOf(repo, 1);
    expect(body).toContain('❌ 1 of 2 checks failed: eval db1.');
    expect(body).toContain('| eval web1 | ✅ passed |');
    expect(body).toContain('| eval db1 | ❌ failed |');
    expect(body).toContain('db1: this package set is broken');
    expect(log.lines.some((l) => l.startsWith('warning:') && l.includes('1 check failed'))).toBe(true);
    repo.gh.assertNoViolations();
  });

  it('pushes with git when commit-method is git', async () => {
    const repo = await fleet();
    const rev = await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) });
    const { outcome } = await bump(repo, { checks: 'none', writer: (root) => gitBranchWriter({ cwd: root }) });
    expect(outcome.operation).toBe('created');
    const head = (await repo.gh.branchSha('flake-bump')) as string;
    expect(repo.gh.state.signedCommits.has(head)).toBe(false);
    expect(await git(repo.gh.bareRepo, 'log', '-1', '--format=%an', head)).toBe('github-actions[bot]');
    expect((await repo.lockOn('flake-bump')).nodes.pkgs?.locked?.rev).toBe(rev);
    expect(await git(repo.workspace, 'status', '--porcelain')).toBe('');
    repo.gh.assertNoViolations();
  });

  it('fails before pushing when the token may not open pull requests, leaving no branch', async () => {
    const repo = await fleet({ permissions: { allowActionsToCreatePullRequests: false } });
    await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) });
    const error = await bump(repo, { checks: 'none' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PullRequestsNotPermittedError);
    expect((error as Error).message).toMatch(/Settings → Actions → General .*Allow GitHub Actions to create and approve pull requests/);
    expect(await repo.gh.branchSha('flake-bump')).toBeUndefined();
    expect(await readFile(join(repo.workspace, 'flake.lock'), 'utf8')).toBe(await git(repo.gh.bareRepo, 'show', 'main:flake.lock').then((t) => `${t}\n`));
    repo.gh.assertNoViolations();
  });

  it('bumps several flakes of one repository in one pull request', async () => {
    const repo = await fleet({ subflakes: ['edge'] });
    const rev = await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) });
    const { outcome } = await bump(repo, { flakes: ['.', 'edge'], checks: 'none' });
    expect(outcome.operation).toBe('created');
    expect(outcome.changes.map((c) => `${c.lockPath}:${c.name}`)).toEqual(['flake.lock:pkgs', 'edge/flake.lock:pkgs']);
    expect((await git(repo.gh.bareRepo, 'diff', '--name-only', 'main', 'flake-bump')).split('\n')).toEqual(['edge/flake.lock', 'flake.lock']);
    expect(JSON.parse(await git(repo.gh.bareRepo, 'show', 'flake-bump:edge/flake.lock')).nodes.pkgs.locked.rev).toBe(rev);
    const body = bodyOf(repo, 1);
    expect(body).toContain('## Flake at the repository root');
    expect(body).toContain('## Flake `edge`');
    repo.gh.assertNoViolations();
  });

  it('warns when Nix changes inputs that were not asked for, and diffs only the chosen hosts', async () => {
    const repo = await fleet();
    await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2' }) });
    // flake.nix on main no longer lets tools follow pkgs, but its lock was not refreshed.
    await repo.gh.seed({ 'flake.nix': fleetFlake(repo.upstreams, { follows: false }) }, { message: 'tools: own pkgs' });
    await repo.pull();
    const { outcome, log } = await bump(repo, { inputs: ['pkgs'], checks: 'eval', diffHosts: ['web1', 'mail9'] });
    expect(outcome.changes.map((c) => c.name)).toEqual(['pkgs', 'tools/pkgs']);
    const flake = outcome.groups[0]?.report.flakes[0];
    expect(flake?.unexpected.map((c) => c.name)).toEqual(['tools/pkgs']);
    expect(log.lines).toContain('warning: flake.lock: tools/pkgs changed although only pkgs was asked for');
    expect(log.lines).toContain('warning: flake.lock: diff-hosts mail9 is not in nixosConfigurations (hosts: db1, web1)');
    expect(flake?.closures.map((c) => [c.host, c.diff?.changes.map((p) => p.name)])).toEqual([['web1', ['openssl']]]);
    expect(flake?.checks.map((c) => `${c.kind} ${c.target} ${c.ok}`)).toEqual(['eval db1 true', 'eval web1 true']);
    expect(bodyOf(repo, 1)).toContain('⚠️ Nix also changed inputs that were not asked for: `tools/pkgs`.');
    repo.gh.assertNoViolations();
  });

  it('runs nix flake check when asked, and reports its failure', async () => {
    const repo = await fleet();
    await repo.upstreams.pkgs.commit({ 'versions.json': versionsJson({ openssl: '3.0.16', nginx: '1.26.2', broken: true }) });
    const { outcome } = await bump(repo, { checks: 'flake-check' });
    expect(outcome.failedChecks).toEqual([expect.objectContaining({ kind: 'flake-check', ok: false, error: expect.stringContaining('db1: this package set is broken') })]);
    expect(bodyOf(repo, 1)).toContain('| nix flake check | ❌ failed |');
    repo.gh.assertNoViolations();
  });

  it('warns when the checkout is not the tip of the base branch', async () => {
    const repo = await fleet();
    await repo.gh.seed({ 'NOTES.md': 'later\n' }, { message: 'main moves on' });
    const { outcome, log } = await bump(repo, { checks: 'none' });
    expect(outcome.operation).toBe('unchanged');
    expect(log.lines.some((l) => /^warning: the checkout is at [0-9a-f]{7} but main is at [0-9a-f]{7}/.test(l))).toBe(true);
  });

  it('names a base branch that does not exist', async () => {
    const repo = await fleet();
    await expect(bump(repo, { base: 'release' })).rejects.toThrow('Input "base": the branch "release" does not exist in acme/fleet. Example: base: main');
  });

  it('names unknown inputs before changing anything', async () => {
    const repo = await fleet();
    await expect(bump(repo, { inputs: ['nixpkgs'] })).rejects.toThrow('Input "inputs": "nixpkgs" is not an input of flake.lock (inputs: pkgs, tools)');
    expect(repo.gh.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
