/**
 * Journey: a small team's fleet repository runs examples/workflows/small-ssh-fleet.yml, which calls
 * our build.yml, vm-test.yml, deploy.yml and flake-bump.yml. Everything is real except GitHub (the
 * emulator) and third-party actions (stand-ins, test/support/workflows/stand-ins.ts): real Nix
 * builds the hosts from the checked-out flake, action-build pushes to an nginx WebDAV cache,
 * action-deploy reaches simulated sshd hosts and records the deployment in the emulator.
 *
 * The repository is the example offline fleet cut down to web1, web2 and db1, with an inventory
 * that reaches the simulated hosts. The caller is used exactly as shipped: it reads the cache, its
 * key and the hosts' SSH keys from repository variables (`vars.*`), which is how the test bed points
 * it at its own cache and hosts.
 *
 * Events, in order: a push to main (variant 2 reaches every host), a pull request (variant 3, built
 * only), a pull request from a fork (variant 5, built without secrets, nothing pushed), the weekly
 * schedule (the bump alone), a push to main with a failing VM test (variant 6, built, not deployed)
 * and a push to main that breaks db1 (nothing deployed). Every host ends on variant 2.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { repoRoot } from '../support/harness.js';
import { buildExampleFleet } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';
import { createFleetRepository, type FleetRepository } from '../support/journeys/fleet-repository.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, OFFLINE_NIX_CONFIG } from '../support/nix.js';
import { startNginxCache, type NginxCacheHandle } from '../support/servers/index.js';
import { exec } from '../../src/util/exec.js';
import { mergeGroupEvent, mergeQueueBranch, pullRequestEvent, pushEvent, runWorkflow, scheduleEvent, type RunnerSettings, type WorkflowRunResult } from '../support/workflows/index.js';

const CALLER = join(repoRoot, 'examples', 'workflows', 'small-ssh-fleet.yml');
const HOSTS = ['web1', 'web2', 'db1'] as const;
const REPO = { fullName: 'acme/fleet', defaultBranch: 'main' };
/** build.yml's one build job: every host is x86_64-linux, on the default runner of that system. */
const BUILD_LEG = 'build / build (x86_64-linux, ubuntu-latest, web1,web2,db1)';

describe('journey: small SSH team (examples/workflows/small-ssh-fleet.yml)', () => {
  let fleet: SimulatedFleet;
  let gh: GitHubEmulator;
  let cache: NginxCacheHandle;
  let repository: FleetRepository;
  let settings: RunnerSettings;
  let initial: Record<string, string>;
  const reviews: string[] = [];
  /** What the push to main deployed: every later event must leave the hosts on it. */
  let deployed: Record<string, string> = {};
  const keys = nixKeyPair('cache.journey-1');

  beforeAll(async () => {
    initial = (await buildExampleFleet({ variant: '1', hosts: HOSTS })).toplevels;
    [fleet, gh, cache] = await Promise.all([
      startHosts(HOSTS.length, { names: (i) => HOSTS[i] as string, system: (i) => initial[HOSTS[i] as string] as string }),
      startGitHubEmulator({ owner: 'acme', repo: 'fleet', initialFiles: null }),
      startNginxCache(),
    ]);
    repository = await createFleetRepository({
      remote: gh.cloneUrl,
      hosts: fleet.hosts.map((h) => h.inventoryHost({ environment: 'production', tags: ['web'] })),
      environments: { production: { 'allowed-refs': ['refs/heads/main'], protected: true } },
      callerWorkflow: CALLER,
    });
    settings = {
      repository: REPO.fullName,
      cloneUrl: gh.cloneUrl,
      github: { apiUrl: gh.apiUrl, graphqlUrl: gh.graphqlUrl, serverUrl: 'https://github.com', token: gh.token },
      vars: { NIX_CACHE_URL: cache.url, NIX_CACHE_PUBLIC_KEY: keys.public, SSH_KNOWN_HOSTS: fleet.knownHosts },
      // The production environment as the team sets it up: main only, one reviewer who approves.
      environments: {
        production: {
          deploymentRefs: ['main'],
          review: ({ job, ref }) => {
            reviews.push(`${job} from ${ref}`);
            return true;
          },
        },
      },
      secrets: { NIX_SIGNING_KEY: keys.secret, DEPLOY_SSH_KEY: fleet.privateKey },
      machineEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', XDG_CACHE_HOME: offlineNixEnv().XDG_CACHE_HOME as string },
      nixConfig: OFFLINE_NIX_CONFIG,
      // Each job's GITHUB_TOKEN can do what its `permissions:` allow, no more.
      onJobStart: ({ permissions: p }) =>
        gh.setTokenPermissions({ contents: p.contents, pullRequests: p['pull-requests'], issues: p.issues, deployments: p.deployments, statuses: p.statuses }),
    };
  }, 300_000);
  afterAll(async () => {
    await Promise.all([fleet?.stop(), gh?.stop(), cache?.stop(), cleanupFreshStores()]);
  });

  /** What each simulated host runs now. */
  const currentSystems = async (): Promise<Record<string, string | undefined>> => Object.fromEntries(await Promise.all(fleet.hosts.map(async (h) => [h.name, await h.currentSystem()] as const)));
  /** The narinfos in the cache's directory: what has been pushed so far. */
  const narinfos = async (): Promise<string[]> => (await readdir(cache.root)).filter((f) => f.endsWith('.narinfo')).sort();
  /** Job (or leg) name → result; jobs that need nothing in common run in any order. */
  const resultsOf = (run: WorkflowRunResult): Record<string, string> => Object.fromEntries(run.jobs.map((j) => [j.name, j.result]));
  const storePathsOf = (run: WorkflowRunResult): Record<string, string> => JSON.parse(run.conclusions.build?.outputs['store-paths'] ?? '{}') as Record<string, string>;

  describe('a push to main', () => {
    let run: WorkflowRunResult;
    let sha: string;

    beforeAll(async () => {
      sha = await repository.commitVariant('2', 'main');
      run = await runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), pushEvent(REPO, { branch: 'main', sha }), settings, { localRoot: repository.dir });
    }, 900_000);

    it('runs build and the VM tests, then deploy, and not the weekly bump', () => {
      const failed = run.jobs.filter((j) => j.result === 'failure').flatMap((j) => j.steps.filter((s) => s.conclusion === 'failure').map((s) => `${j.name} / ${s.name}:\n${s.stdout}\n${s.stderr}`));
      expect(failed).toEqual([]);
      expect(resultsOf(run)).toEqual({
        'build / plan': 'success',
        [BUILD_LEG]: 'success',
        'build / merge': 'success',
        'vm-test / vm-test': 'success',
        'deploy / deploy': 'success',
        bump: 'skipped',
      });
      expect(run.result).toBe('success');
    });

    it("gives the build job's store-paths for every host, new systems, to the deploy step", () => {
      const storePaths = storePathsOf(run);
      expect(Object.keys(storePaths).sort()).toEqual([...HOSTS].sort());
      for (const host of HOSTS) {
        expect(storePaths[host]).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-nixos-system-${host}-`));
        expect(storePaths[host]).not.toBe(initial[host]);
      }
      const deployStep = run.job('deploy / deploy').steps.find((s) => s.id === 'deploy');
      expect(JSON.parse(deployStep?.inputs['store-paths'] ?? '{}')).toEqual(storePaths);
    });

    it("passes the fleet's VM tests", () => {
      const checks = JSON.parse(run.conclusions['vm-test']?.outputs.checks ?? '[]') as { name: string; outcome: string }[];
      expect(checks.map((c) => [c.name, c.outcome])).toEqual([
        ['boot', 'passed'],
        ['clinic-links', 'passed'],
        ['web-serves-pages', 'passed'],
      ]);
    });

    it('leaves every closure in the cache, signed, for real Nix to substitute', async () => {
      const store = await freshStore();
      const paths = Object.values(storePathsOf(run));
      const copy = await store.copyFrom(cache.url, paths, { trustedPublicKeys: keys.public, requireSigs: true });
      expect(copy.stderr).not.toMatch(/error/);
      expect(copy.code).toBe(0);
      for (const path of paths) expect(await store.has(path)).toBe(true);
    });

    it('leaves each host running its new system', async () => {
      deployed = storePathsOf(run);
      for (const host of fleet.hosts) expect(await host.currentSystem()).toBe(deployed[host.name]);
    });

    it('records the GitHub deployment of production, for the pushed commit, with status success', () => {
      expect(run.job('deploy / deploy')).toMatchObject({ environment: 'production', permissions: { contents: 'read', deployments: 'write', 'pull-requests': 'none' } });
      expect(reviews).toEqual(['deploy / deploy from refs/heads/main']);
      const deployments = [...gh.state.deployments.values()];
      expect(deployments).toHaveLength(1);
      const [deployment] = deployments;
      expect(deployment).toMatchObject({ environment: 'production', sha });
      expect((deployment?.payload as { hosts: Record<string, string> }).hosts).toEqual(storePathsOf(run));
      const states = (gh.state.deploymentStatuses.get(deployment?.id as number) ?? []).map((s) => (s as { state: string }).state);
      expect(states.at(-1)).toBe('success');
      gh.assertNoViolations();
    });

    it("shows each host's outcome in the deploy job's summary", () => {
      const summary = run.job('deploy / deploy').summary;
      expect(summary).toContain('fleet deploy to production');
      for (const host of HOSTS) expect(summary).toMatch(new RegExp(`\\|\\s*${host}\\s*\\|\\s*succeeded\\s*\\|`));
    });
  });

  describe('a pull request', () => {
    let run: WorkflowRunResult;
    let before: Record<string, string | undefined>;
    let deploymentsBefore: number;

    beforeAll(async () => {
      before = await currentSystems();
      deploymentsBefore = gh.state.deployments.size;
      const headSha = await repository.commitVariant('3', 'pr-next');
      run = await runWorkflow(
        join(repository.dir, '.github', 'workflows', 'fleet.yml'),
        pullRequestEvent(REPO, { number: 1, head: 'pr-next', headSha, base: 'main' }),
        settings,
        { localRoot: repository.dir },
      );
    }, 900_000);

    it('builds the proposed systems and never deploys them', async () => {
      expect(resultsOf(run)).toEqual({
        'build / plan': 'success',
        [BUILD_LEG]: 'success',
        'build / merge': 'success',
        'vm-test / vm-test': 'success',
        deploy: 'skipped',
        bump: 'skipped',
      });
      const storePaths = storePathsOf(run);
      expect(Object.keys(storePaths).sort()).toEqual([...HOSTS].sort());
      for (const host of fleet.hosts) {
        expect(storePaths[host.name]).not.toBe(before[host.name]);
        expect(await host.currentSystem()).toBe(before[host.name]);
      }
      expect(gh.state.deployments.size).toBe(deploymentsBefore);
      expect(reviews).toHaveLength(1);
    });
  });

  describe('a pull request from a fork', () => {
    let run: WorkflowRunResult;
    let cachedBefore: string[];

    beforeAll(async () => {
      cachedBefore = await narinfos();
      // GitHub fetches a fork's head as refs/pull/N/head of the base repository; a branch stands in for it.
      const headSha = await repository.commitVariant('5', 'fork-head');
      run = await runWorkflow(
        join(repository.dir, '.github', 'workflows', 'fleet.yml'),
        pullRequestEvent(REPO, { number: 2, head: 'fork-head', headSha, base: 'main', fork: true }),
        settings,
        { localRoot: repository.dir },
      );
    }, 900_000);

    it('builds without secrets, pushes nothing to the cache, and never deploys', async () => {
      expect(resultsOf(run)).toMatchObject({ [BUILD_LEG]: 'success', 'vm-test / vm-test': 'success', deploy: 'skipped' });
      expect(Object.keys(storePathsOf(run)).sort()).toEqual([...HOSTS].sort());
      const build = run.job(BUILD_LEG);
      expect(build.permissions).toMatchObject({ contents: 'read', 'id-token': 'none' });
      expect(build.steps.find((s) => s.id === 'build')?.inputs['signing-key']).toBe('');
      expect(await narinfos()).toEqual(cachedBefore);
    });
  });

  describe('a merge queue group', () => {
    let run: WorkflowRunResult;
    let before: Record<string, string | undefined>;
    let deploymentsBefore: number;
    let cachedBefore: string[];

    beforeAll(async () => {
      [before, cachedBefore] = [await currentSystems(), await narinfos()];
      deploymentsBefore = gh.state.deployments.size;
      const baseSha = (await exec('git', ['-C', repository.dir, 'rev-parse', 'main'])).stdout.trim();
      // The queue tests pull request 7 merged over main, on its own temporary branch.
      const headSha = await repository.commitVariant('queued-7', mergeQueueBranch(7, baseSha));
      run = await runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), mergeGroupEvent(REPO, { number: 7, headSha, baseSha }), settings, { localRoot: repository.dir });
    }, 900_000);

    it('builds, tests and pushes the group, and never deploys it', async () => {
      expect(resultsOf(run)).toEqual({
        'build / plan': 'success',
        [BUILD_LEG]: 'success',
        'build / merge': 'success',
        'vm-test / vm-test': 'success',
        deploy: 'skipped',
        bump: 'skipped',
      });
      const storePaths = storePathsOf(run);
      expect(Object.keys(storePaths).sort()).toEqual([...HOSTS].sort());
      // Pushed: the push to main that lands the group finds its closures cached.
      const narinfoOf = (path: string) => `${path.slice('/nix/store/'.length, '/nix/store/'.length + 32)}.narinfo`;
      const cached = await narinfos();
      for (const path of Object.values(storePaths)) {
        expect(cachedBefore).not.toContain(narinfoOf(path));
        expect(cached).toContain(narinfoOf(path));
      }
      for (const host of fleet.hosts) expect(await host.currentSystem()).toBe(before[host.name]);
      expect(gh.state.deployments.size).toBe(deploymentsBefore);
      expect(run.job(BUILD_LEG).steps.find((s) => s.id === 'build')?.inputs['signing-key']).not.toBe('');
    });
  });

  describe('the weekly schedule', () => {
    let run: WorkflowRunResult;

    beforeAll(async () => {
      const sha = (await gh.branchSha('main')) as string;
      run = await runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), scheduleEvent(REPO, { cron: '17 4 * * 1', sha }), settings, { localRoot: repository.dir });
    }, 600_000);

    // The example fleet's flake has no inputs, so the bump has nothing to update: this checks the
    // wiring (trigger, permissions, inputs), not a bump pull request (test/e2e/flake-bump.test.ts does).
    it('runs only the flake bump, which finds nothing to update and opens no pull request', () => {
      expect(resultsOf(run)).toEqual({ build: 'skipped', 'vm-test': 'skipped', deploy: 'skipped', 'bump / bump': 'success' });
      const bump = run.job('bump / bump');
      expect(bump.permissions).toMatchObject({ contents: 'write', 'pull-requests': 'write', deployments: 'none', 'id-token': 'none' });
      expect(bump.steps.find((s) => s.id === 'bump')?.outputs.operation).toBe('unchanged');
      expect(bump.summary).toContain('Nothing to bump');
      expect(gh.state.pulls.size).toBe(0);
      gh.assertNoViolations();
    });
  });

  describe('a push to main whose VM test fails', () => {
    let run: WorkflowRunResult;
    let before: Record<string, string | undefined>;
    let checksNix: string;

    beforeAll(async () => {
      before = await currentSystems();
      checksNix = await readFile(join(repository.dir, 'lib', 'checks.nix'), 'utf8');
      // A test that fails on web1: the hosts still build.
      const failing = checksNix.replace(/\n}\s*$/, `\n  web1-answers = mkTest "web1-answers" [ "web1" ] "false";\n}\n`);
      expect(failing).not.toBe(checksNix);
      const sha = await repository.commitFiles({ 'lib/checks.nix': failing, 'variant.txt': '6\n' }, 'main');
      run = await runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), pushEvent(REPO, { branch: 'main', sha }), settings, { localRoot: repository.dir });
    }, 900_000);
    afterAll(() => repository.commitFiles({ 'lib/checks.nix': checksNix }, 'main'));

    it('builds every host but deploys none of them', async () => {
      expect(resultsOf(run)).toMatchObject({ [BUILD_LEG]: 'success', 'build / merge': 'success', 'vm-test / vm-test': 'failure', deploy: 'skipped' });
      const checks = JSON.parse(run.job('vm-test / vm-test').outputs.checks ?? '[]') as { name: string; outcome: string }[];
      expect(checks.find((c) => c.name === 'web1-answers')?.outcome).toBe('failed');
      for (const host of fleet.hosts) {
        expect(storePathsOf(run)[host.name]).not.toBe(before[host.name]);
        expect(await host.currentSystem()).toBe(before[host.name]);
      }
    });
  });

  describe('a push to main that breaks a host', () => {
    let run: WorkflowRunResult;
    let before: Record<string, string | undefined>;
    let deploymentsBefore: number;

    beforeAll(async () => {
      before = await currentSystems();
      deploymentsBefore = gh.state.deployments.size;
      const flake = await readFile(join(repository.dir, 'flake.nix'), 'utf8');
      // db1's package set names a package that does not exist: evaluating db1 fails.
      const broken = flake.replace('db1 = { packages = [ postgresql ];', 'db1 = { packages = [ postgresql-does-not-exist ];');
      expect(broken).not.toBe(flake);
      const sha = await repository.commitFiles({ 'flake.nix': broken, 'variant.txt': '4\n' }, 'main');
      run = await runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), pushEvent(REPO, { branch: 'main', sha }), settings, { localRoot: repository.dir });
    }, 900_000);

    it('fails the build, deploys nothing, and leaves every host on what the first push deployed', async () => {
      const results = resultsOf(run);
      expect(results[BUILD_LEG]).toBe('failure');
      expect(results['build / merge']).toBe('skipped');
      expect(results['deploy']).toBe('skipped');
      expect(run.result).toBe('failure');
      const build = run.job(BUILD_LEG).steps.find((s) => s.id === 'build');
      expect(build?.annotations.map((a) => a.message).join('\n')).toContain('db1');
      for (const host of fleet.hosts) {
        expect(await host.currentSystem()).toBe(before[host.name]);
        expect(await host.currentSystem()).toBe(deployed[host.name]);
      }
      expect(gh.state.deployments.size).toBe(deploymentsBefore);
    });
  });
});
