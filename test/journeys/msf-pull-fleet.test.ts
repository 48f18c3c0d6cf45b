/**
 * Journey: an MSF-like pull fleet's repository runs examples/workflows/msf-pull-fleet.yml, which
 * calls our build.yml, deploy.yml and upgrade-wave.yml. Everything is real except GitHub (the
 * emulator) and third-party actions (stand-ins, test/support/workflows/stand-ins.ts): real Nix builds
 * the hosts from the checked-out flake, action-build pushes the closures to the fleet's store,
 * action-deploy publishes signed manifests into it, simulated hosts run the real agent
 * (host/agent/fleet-agent.sh) against it, which pulls, switches and writes its status report back
 * there, and action-upgrade-wave reads those reports for its gates and opens pull requests in the
 * emulator.
 *
 * The store: one s3rver bucket holds the binary cache, the manifests and the hosts' reports, as MSF's
 * one S3 bucket does (the caller reads it from `vars.FLEET_STORE`). The jobs reach it only with role
 * credentials: the OIDC issuer mints each job's token (its ref, event and environment), the STS
 * emulator trades it for the writer role (build, publish) or the reader role (the gates) when the
 * role's trust policy allows that subject; no ambient AWS credentials exist. The hosts read the
 * bucket over plain HTTP and PUT their reports there, as a bucket policy for the hosts would allow
 * (s3rver takes unsigned requests).
 *
 * The fleet: monitor (staging, wave first), web1 (production, wave first), web2 (production, wave
 * middle), clinic-kin (production, wave final), all `deploy: pull`. Wave first is on the new channel,
 * the others on the old one; soak 5s so real time can pass it.
 *
 * Events, in order: a push to staging (variant 2), the daily schedule (promote opens staging → main;
 * advance waits), the maintainer merges the promotion in the emulator, the push to main that merge
 * makes, the daily schedule again (advance opens the pull request moving wave middle), the maintainer
 * merges it, the push to main that merge makes (wave middle gets its manifests), the daily schedule
 * with a unit failed on wave middle's host (advance blocks, naming it), the daily schedule once the
 * host is healthy again (advance opens the pull request moving wave final), the weekly schedule
 * (the lock bump alone), and the Sunday schedule twice, the clock moved past min-age each time
 * (FLEET_NOW): the garbage collection condemns a closure nothing holds any more, then deletes it.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { repoRoot } from '../support/harness.js';
import { buildExampleFleet } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { createFleetRepository, type FleetRepository } from '../support/journeys/fleet-repository.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNix, offlineNixEnv, OFFLINE_NIX_CONFIG } from '../support/nix.js';
import { pushEvent, runWorkflow, scheduleEvent, workflowDispatchEvent, type RunnerSettings, type WorkflowRunResult } from '../support/workflows/index.js';
import { startOidcIssuer, startSts, type IssuedCredentials, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';
import { s3rverAccounts } from '../support/s3rver-accounts.js';
import { startS3rver, type S3rverHandle } from '../support/servers/index.js';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { pushToCache } from '../../src/cache/push.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import type { GcReport } from '../../src/gc/collect.js';
import { memoryLog } from '../../src/util/log.js';
import { readReport } from '../../src/deploy/pull/index.js';
import { installAgentUnit, runAgent, windowAround, type AgentConfig } from '../integration/deploy-pull-fixture.js';

const CALLER = join(repoRoot, 'examples', 'workflows', 'msf-pull-fleet.yml');
const HOSTS = ['monitor', 'web1', 'web2', 'clinic-kin'] as const;
type HostName = (typeof HOSTS)[number];
const PLACE: Record<HostName, { environment: string; wave: string }> = {
  monitor: { environment: 'staging', wave: 'first' },
  web1: { environment: 'production', wave: 'first' },
  web2: { environment: 'production', wave: 'middle' },
  'clinic-kin': { environment: 'production', wave: 'final' },
};
const REPO = { fullName: 'acme/fleet', defaultBranch: 'main' };
const SOAK_MS = 5_000;
const DAILY = '0 6 * * *';
const WEEKLY = '0 4 * * 1';
const SUNDAY = '0 2 * * 0';
const DAY = 86_400_000;
const WRITER = 'arn:aws:iam::123456789012:role/fleet-cache-writer';
const READER = 'arn:aws:iam::123456789012:role/fleet-status-reader';
const COLLECTOR = 'arn:aws:iam::123456789012:role/fleet-cache-gc';

describe('journey: MSF-like pull fleet (examples/workflows/msf-pull-fleet.yml)', () => {
  let fleet: SimulatedFleet;
  let gh: GitHubEmulator;
  let s3: S3rverHandle;
  let issuer: OidcIssuer;
  let sts: StsEmulator;
  /** The bucket as the test reads it (s3rver's own account). */
  let bucket: OpenedStore;
  /** The bucket as hosts read it: plain HTTP. */
  let storeUrl: string;
  /** The event being run: what the OIDC token of each job says. */
  let event = { ref: '', event_name: '' };
  let repository: FleetRepository;
  let settings: RunnerSettings;
  let initial: Record<string, string>;
  const cacheKeys = nixKeyPair('cache.msf-1');
  const manifestKeys = nixKeyPair('fleet-manifest.msf-1');
  /** What each push built: host → system. */
  let staging: Record<string, string> = {};
  let production: Record<string, string> = {};
  let promotion: number;
  let advanceMiddle: number;
  /** The commit of each push, in order. */
  const pushed: string[] = [];

  const host = (name: HostName): SimulatedHost => fleet.hosts.find((h) => h.name === name) as SimulatedHost;
  /** services.fleet-agent.activationWindow of every host (HH:MM-HH:MM), once the journey sets one. */
  let activationWindow: string | undefined;
  const agentConfig = (h: SimulatedHost): AgentConfig => ({
    host: h.name,
    environment: PLACE[h.name as HostName].environment,
    storeUrl,
    manifestKeys: manifestKeys.public,
    substituters: storeUrl,
    trustedPublicKeys: cacheKeys.public,
    ...(activationWindow ? { activationWindow } : {}),
  });
  /** One run of every host's agent timer (pull, switch if asked, report), or only its report. */
  const agentsRun = async (command: 'run' | 'report' = 'run'): Promise<void> => {
    for (const h of fleet.hosts) {
      const result = await runAgent(h, agentConfig(h), command);
      if (result.code !== 0) throw new Error(`agent on ${h.name} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    }
  };
  /** Agents converge, then report again once the soak has passed (their timers, in fast motion). */
  const agentsConvergeAndSoak = async (): Promise<void> => {
    await agentsRun('run');
    await new Promise((resolve) => setTimeout(resolve, SOAK_MS + 1_000));
    await agentsRun('report');
  };
  const currentSystems = async (): Promise<Record<string, string | undefined>> => Object.fromEntries(await Promise.all(fleet.hosts.map(async (h) => [h.name, await h.currentSystem()] as const)));
  const exists = async (key: string) => (await bucket.get(key)) !== undefined;
  const historyRecords = async () => (await bucket.list('fleet/status-history/')).length;
  /** The manifest pointers published so far, as `environment/host`. */
  const published = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const name of HOSTS) for (const env of ['staging', 'production']) if (await exists(`fleet/${env}/${name}.json`)) found.push(`${env}/${name}`);
    return found.sort();
  };
  const resultsOf = (run: WorkflowRunResult): Record<string, string> => Object.fromEntries(run.jobs.map((j) => [j.name, j.result]));
  const failures = (run: WorkflowRunResult): string[] =>
    run.jobs.filter((j) => j.result === 'failure').flatMap((j) => j.steps.filter((s) => s.conclusion === 'failure').map((s) => `${j.name} / ${s.name}:\n${s.stdout}\n${s.stderr}`));
  /** Role and token subject of the credentials STS issued since `from`. */
  const issuedSince = (from: number): string[] => [...new Set(sts.issued.slice(from).map((c) => `${c.roleArn.replace(/^.*:role\//, '')} for ${c.subject}`))].sort();
  /** The hosts publish-production deployed to (its results output), as its hosts selector chose them. */
  const deployedHosts = (run: WorkflowRunResult): string[] => Object.keys(JSON.parse(run.conclusions['publish-production']?.outputs.results ?? '{}') as Record<string, unknown>).sort();
  const storePathsOf = (run: WorkflowRunResult): Record<string, string> => JSON.parse(run.conclusions.build?.outputs['store-paths'] ?? '{}') as Record<string, string>;
  const run = (trigger: Parameters<typeof runWorkflow>[1]) => {
    event = { ref: trigger.ref, event_name: trigger.name };
    return runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), trigger, settings, { localRoot: repository.dir });
  };
  /** The repository's pull requests, as the REST API shows them. */
  const pulls = async () => (await new Octokit(gh.octokitOptions).rest.pulls.list({ owner: 'acme', repo: 'fleet', state: 'all' })).data;

  beforeAll(async () => {
    initial = (await buildExampleFleet({ variant: '1', hosts: HOSTS })).toplevels;
    [fleet, gh, s3, issuer] = await Promise.all([
      startHosts(HOSTS.length, { names: (i) => HOSTS[i] as string, system: (i) => initial[HOSTS[i] as string] as string }),
      startGitHubEmulator({ owner: 'acme', repo: 'fleet', initialFiles: null }),
      startS3rver({ bucket: 'msf-fleet-cache' }),
      startOidcIssuer({ claims: { repository: 'acme/fleet' } }),
    ]);
    storeUrl = s3.url;
    bucket = openStore(s3.cacheUrl, { credentials: s3.credentials });
    // The roles' trust policies: the writer from staging's and main's builds and their
    // environments' jobs, the reader from the default branch (where the schedule runs).
    sts = await startSts({
      issuer,
      trustPolicy: [
        { roleArn: WRITER, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/staging', 'repo:acme/fleet:ref:refs/heads/main', 'repo:acme/fleet:environment:staging', 'repo:acme/fleet:environment:production'] },
        { roleArn: READER, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/main'] },
        { roleArn: COLLECTOR, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/main'] },
      ],
      onIssue: (c: IssuedCredentials) => s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(c.accessKeyId, c.secretAccessKey),
    });
    repository = await createFleetRepository({
      remote: gh.cloneUrl,
      // Pull hosts whose ssh the inventory gives (through relays, at MSF), for the nudge.
      hosts: fleet.hosts.map((h) => {
        const reach = h.inventoryHost().deploy;
        return h.inventoryHost({ ...PLACE[h.name as HostName], tags: [], deploy: { method: 'pull', ...(reach.method === 'ssh' ? { ssh: reach } : {}) } });
      }),
      environments: {
        staging: { 'allowed-refs': ['refs/heads/staging'] },
        production: { 'allowed-refs': ['refs/heads/main'], protected: true },
      },
      waves: {
        first: { order: 1, soak: '5s', quorum: '100%', channel: 'nixos-25.05' },
        middle: { order: 2, soak: '5s', quorum: '100%', channel: 'nixos-24.11' },
        final: { order: 3, soak: '5s', quorum: '100%', channel: 'nixos-24.11' },
      },
      callerWorkflow: CALLER,
    });
    settings = {
      repository: REPO.fullName,
      cloneUrl: gh.cloneUrl,
      github: { apiUrl: gh.apiUrl, graphqlUrl: gh.graphqlUrl, serverUrl: 'https://github.com', token: gh.token },
      vars: { FLEET_STORE: s3.cacheUrl, AWS_REGION: s3.region, FLEET_WRITER_ROLE: WRITER, FLEET_READER_ROLE: READER, FLEET_GC_ROLE: COLLECTOR },
      environments: { staging: { deploymentRefs: ['staging'] }, production: { deploymentRefs: ['main'] } },
      secrets: { NIX_SIGNING_KEY: cacheKeys.secret, FLEET_MANIFEST_KEY: manifestKeys.secret },
      machineEnv: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        XDG_CACHE_HOME: offlineNixEnv().XDG_CACHE_HOME as string,
        AWS_ENDPOINT_URL_STS: sts.endpoint,
        // No ambient credentials: only the roles' reach the bucket.
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
      oidcEnv: issuer.env,
      nixConfig: OFFLINE_NIX_CONFIG,
      onJobStart: ({ permissions: p, environment }) => {
        gh.setTokenPermissions({ contents: p.contents, pullRequests: p['pull-requests'], issues: p.issues, deployments: p.deployments, statuses: p.statuses });
        issuer.setClaims({ repository: 'acme/fleet', ref: event.ref, event_name: event.event_name, ...(environment ? { environment } : {}) });
      },
    };
    // The agents have run before any manifest: every host has reported what it runs.
    await agentsRun('run');
  }, 300_000);
  afterAll(async () => {
    await bucket?.close();
    await Promise.all([fleet?.stop(), gh?.stop(), s3?.stop(), issuer?.stop(), sts?.stop(), cleanupFreshStores()]);
  });

  describe('a push to staging', () => {
    let result: WorkflowRunResult;
    let issued: string[];

    beforeAll(async () => {
      const from = sts.issued.length;
      const sha = await repository.commitVariant('2', 'staging');
      pushed.push(sha);
      result = await run(pushEvent(REPO, { branch: 'staging', sha }));
      staging = storePathsOf(result);
      issued = issuedSince(from);
    }, 900_000);

    it("reaches the bucket with the writer role only, as the build's ref and as the staging environment", () => {
      expect(issued).toEqual(['fleet-cache-writer for repo:acme/fleet:environment:staging', 'fleet-cache-writer for repo:acme/fleet:ref:refs/heads/staging']);
    });

    it('builds every host and publishes staging, and nothing of production', async () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toMatchObject({
        'build / plan': 'success',
        'build / merge': 'success',
        'publish-staging / deploy': 'success',
        'publish-production': 'skipped',
        promote: 'skipped',
        advance: 'skipped',
      });
      expect(result.result).toBe('success');
      expect(Object.keys(staging).sort()).toEqual([...HOSTS].sort());
      for (const name of HOSTS) expect(staging[name]).not.toBe(initial[name]);
      expect(result.job('publish-staging / deploy')).toMatchObject({ environment: 'staging', permissions: { contents: 'read', deployments: 'write', 'id-token': 'write', 'pull-requests': 'none' } });
      expect(await published()).toEqual(['staging/monitor']);
    });

    it('leaves the closures in the store, signed, for real Nix to substitute', async () => {
      const store = await freshStore();
      const copy = await store.copyFrom(storeUrl, Object.values(staging), { trustedPublicKeys: cacheKeys.public, requireSigs: true });
      expect(copy.code).toBe(0);
      for (const path of Object.values(staging)) expect(await store.has(path)).toBe(true);
    });

    it("has the staging host's agent pull its new system; production hosts stay where they were", async () => {
      await agentsConvergeAndSoak();
      expect(await currentSystems()).toEqual({ monitor: staging.monitor, web1: initial.web1, web2: initial.web2, 'clinic-kin': initial['clinic-kin'] });
      const report = JSON.parse((await bucket.get('fleet/status/monitor.json'))?.toString('utf8') ?? '{}') as { host: string; system: string };
      expect(report).toMatchObject({ host: 'monitor', system: staging.monitor });
    }, 300_000);
  });

  describe('the daily schedule, staging soaked', () => {
    let result: WorkflowRunResult;
    let issued: string[];

    beforeAll(async () => {
      const from = sts.issued.length;
      result = await run(scheduleEvent(REPO, { cron: DAILY, sha: (await gh.branchSha('main')) as string }));
      issued = issuedSince(from);
    }, 600_000);

    it('reads the reports with the reader role, on the default branch', () => {
      expect(issued).toEqual(['fleet-status-reader for repo:acme/fleet:ref:refs/heads/main']);
    });

    it('runs promote and advance only, with what the gates need and no more', () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toEqual({ build: 'skipped', 'publish-staging': 'skipped', 'publish-production': 'skipped', 'promote / wave': 'success', 'advance / wave': 'success', 'status / wave': 'success', bump: 'skipped', gc: 'skipped' });
      for (const job of ['promote / wave', 'advance / wave']) {
        expect(result.job(job).permissions).toMatchObject({ contents: 'write', 'pull-requests': 'write', issues: 'read', deployments: 'none' });
      }
    });

    it('opens the staging → main pull request, with the staging host as evidence', async () => {
      const promote = result.job('promote / wave').steps.find((s) => s.id === 'wave');
      expect(promote?.outputs.decision).toBe('promoted');
      promotion = Number(promote?.outputs['pull-request-number']);
      const open = (await pulls()).filter((p) => p.state === 'open');
      expect(open.map((p) => [p.number, p.head.ref, p.base.ref])).toEqual([[promotion, 'staging', 'main']]);
      const body = open[0]?.body ?? '';
      expect(body).toContain('(1 commit ahead');
      expect(body).toContain('### Evidence: the staging hosts');
      expect(body).toContain('monitor');
      expect(body).toContain(staging.monitor);
      gh.assertNoViolations();
    });

    it('advances nothing: wave first has hosts that do not run main yet', () => {
      const advance = result.job('advance / wave').steps.find((s) => s.id === 'wave');
      expect(advance?.outputs.decision).toBe('waiting');
      expect(advance?.outputs['pull-request-number'] ?? '').toBe('');
    });
  });

  describe('the maintainer merges the promotion; the push to main follows', () => {
    let result: WorkflowRunResult;

    beforeAll(async () => {
      gh.setTokenPermissions({ contents: 'write', pullRequests: 'write', issues: 'write', deployments: 'write', statuses: 'write' });
      await new Octokit(gh.octokitOptions).rest.pulls.merge({ owner: 'acme', repo: 'fleet', pull_number: promotion, merge_method: 'merge' });
      const sha = (await gh.branchSha('main')) as string;
      pushed.push(sha);
      result = await run(pushEvent(REPO, { branch: 'main', sha }));
      production = storePathsOf(result);
    }, 900_000);

    it('builds main and publishes production to wave first only', async () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toMatchObject({ 'build / merge': 'success', 'publish-staging': 'skipped', 'publish-production / deploy': 'success', promote: 'skipped', advance: 'skipped' });
      // waves:reached is wave first alone (the only wave on nixos-25.05), of which production has web1.
      expect(deployedHosts(result)).toEqual(['web1']);
      expect(result.job('publish-production / deploy')).toMatchObject({ environment: 'production', permissions: { contents: 'read', deployments: 'write', 'id-token': 'write' } });
      // Main is staging's tree: the systems are the ones staging soaked.
      expect(production).toEqual(staging);
      expect(await published()).toEqual(['production/web1', 'staging/monitor']);
    });

    it("has wave first's agents converge; the later waves get no manifest and stay where they were", async () => {
      await agentsConvergeAndSoak();
      expect(await currentSystems()).toEqual({ monitor: staging.monitor, web1: production.web1, web2: initial.web2, 'clinic-kin': initial['clinic-kin'] });
      expect(await published()).not.toContain('production/web2');
    }, 300_000);
  });

  describe('the daily schedule, wave first soaked', () => {
    let result: WorkflowRunResult;

    beforeAll(async () => {
      result = await run(scheduleEvent(REPO, { cron: DAILY, sha: (await gh.branchSha('main')) as string }));
    }, 600_000);

    it('opens the pull request that moves wave middle to the new channel, with wave first as evidence', async () => {
      expect(failures(result)).toEqual([]);
      const advance = result.job('advance / wave').steps.find((s) => s.id === 'wave');
      expect(advance?.outputs.decision).toBe('advanced');
      const number = Number(advance?.outputs['pull-request-number']);
      advanceMiddle = number;
      const pull = (await pulls()).find((p) => p.number === number);
      expect(pull).toMatchObject({ state: 'open', title: 'Move wave middle to nixos-25.05', head: { ref: 'fleet-advance/middle' }, base: { ref: 'main' } });
      expect(pull?.body).toContain('### Evidence: wave first');
      expect(pull?.body).toContain(production.web1);
      // Promote has nothing left to promote: staging is main.
      expect(result.job('promote / wave').steps.find((s) => s.id === 'wave')?.outputs.decision).toBe('nothing-to-do');
      gh.assertNoViolations();
    });

    it('publishes nothing for wave middle before its pull request is merged', async () => {
      expect(await published()).toEqual(['production/web1', 'staging/monitor']);
      expect(await host('web2').currentSystem()).toBe(initial.web2);
    });
  });

  describe('the maintainer merges the advance; the push to main follows', () => {
    let result: WorkflowRunResult;

    beforeAll(async () => {
      gh.setTokenPermissions({ contents: 'write', pullRequests: 'write', issues: 'write', deployments: 'write', statuses: 'write' });
      await new Octokit(gh.octokitOptions).rest.pulls.merge({ owner: 'acme', repo: 'fleet', pull_number: advanceMiddle, merge_method: 'squash' });
      const sha = (await gh.branchSha('main')) as string;
      pushed.push(sha);
      result = await run(pushEvent(REPO, { branch: 'main', sha }));
    }, 900_000);

    it('publishes production to waves first and middle, not final', async () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toMatchObject({ 'publish-production / deploy': 'success' });
      // The merged advance put wave middle on wave first's channel: waves:reached now takes it in.
      expect(deployedHosts(result)).toEqual(['web1', 'web2']);
      // The flake does not read the channels: the one-line inventory edit changes no system.
      expect(storePathsOf(result)).toEqual(production);
      expect(await published()).toEqual(['production/web1', 'production/web2', 'staging/monitor']);
    });

    it("has wave middle's agent converge; wave final stays where it was", async () => {
      await agentsConvergeAndSoak();
      expect(await currentSystems()).toEqual({ monitor: staging.monitor, web1: production.web1, web2: production.web2, 'clinic-kin': initial['clinic-kin'] });
    }, 300_000);

    it('records a GitHub deployment per publication, each for its environment and commit', async () => {
      const deployments = [...gh.state.deployments.values()].map((d) => [d.environment, d.sha, Object.keys((d.payload as { hosts: Record<string, string> }).hosts).sort().join(',')]);
      expect(new Set(pushed).size).toBe(3);
      expect(deployments).toEqual([
        ['staging', pushed[0], 'monitor'],
        ['production', pushed[1], 'web1'],
        ['production', pushed[2], 'web1,web2'],
      ]);
    });
  });

  describe("the daily schedule, a unit failed on wave middle's host", () => {
    let result: WorkflowRunResult;
    let pullsBefore: number;

    beforeAll(async () => {
      // nginx fails on web2 after its switch; its agent's next run reports it.
      await writeFile(join(host('web2').root, 'run/fleet-sim/failed-units'), 'nginx.service\n');
      await agentsRun('report');
      gh.setTokenPermissions({ pullRequests: 'read' });
      pullsBefore = (await pulls()).length;
      result = await run(scheduleEvent(REPO, { cron: DAILY, sha: (await gh.branchSha('main')) as string }));
    }, 600_000);
    afterAll(async () => {
      await rm(join(host('web2').root, 'run/fleet-sim/failed-units'), { force: true });
    });

    it('blocks the advance of wave final, naming the host and its failed unit, and opens no pull request', async () => {
      expect(failures(result)).toEqual([]);
      const advance = result.job('advance / wave');
      const step = advance.steps.find((s) => s.id === 'wave');
      expect(step?.outputs.decision).toBe('blocked');
      expect(advance.summary).toContain('web2');
      expect(advance.summary).toContain('nginx.service');
      expect((await pulls()).length).toBe(pullsBefore);
      expect(await published()).not.toContain('production/clinic-kin');
    });

    it('publishes the status page as the artifact fleet-status, naming the failed unit, and records the run', async () => {
      expect(await historyRecords()).toBe(3);
      const status = result.job('status / wave');
      expect(status.permissions).toMatchObject({ 'id-token': 'write', deployments: 'none' });
      const page = result.artifacts.get('fleet-status')?.get('fleet-status.html')?.toString('utf8') ?? '';
      expect(page).toMatch(/^<!doctype html>/i);
      for (const name of HOSTS) expect(page).toContain(`>${name}<`);
      expect(page).toContain('nginx.service');
      // The daily runs before this one each left a record: the page has history.
      expect(page).toContain('Running since');
      // clinic-kin still runs its first system: the page says what moving to main's costs it.
      expect(page).toMatch(/data-host="clinic-kin".*?<span>[+−][\d.]+ [KMG]?i?B<\/span><span class="detail">download [\d.]+ [KMG]?i?B/s);
      expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    });
  });

  describe('the daily schedule, wave middle soaked and healthy again', () => {
    let result: WorkflowRunResult;

    beforeAll(async () => {
      await agentsRun('report');
      result = await run(scheduleEvent(REPO, { cron: DAILY, sha: (await gh.branchSha('main')) as string }));
    }, 600_000);

    it('opens the pull request that moves wave final, with wave middle as evidence', async () => {
      expect(failures(result)).toEqual([]);
      const advance = result.job('advance / wave').steps.find((s) => s.id === 'wave');
      expect(advance?.outputs.decision).toBe('advanced');
      const pull = (await pulls()).find((p) => p.number === Number(advance?.outputs['pull-request-number']));
      expect(pull).toMatchObject({ state: 'open', title: 'Move wave final to nixos-25.05', head: { ref: 'fleet-advance/final' }, base: { ref: 'main' } });
      expect(pull?.body).toContain('### Evidence: wave middle');
      expect(pull?.body).toContain(production.web2);
      expect(await published()).not.toContain('production/clinic-kin');
      expect(await host('clinic-kin').currentSystem()).toBe(initial['clinic-kin']);
      gh.assertNoViolations();
    });
  });

  describe('the weekly schedule', () => {
    let result: WorkflowRunResult;

    beforeAll(async () => {
      result = await run(scheduleEvent(REPO, { cron: WEEKLY, sha: (await gh.branchSha('main')) as string }));
    }, 600_000);

    // The example fleet's flake has no inputs, so the bump has nothing to update: this checks the
    // wiring (trigger, base branch, permissions), not a bump pull request (test/e2e/flake-bump.test.ts does).
    it('runs only the lock bump, on staging, which finds nothing to update', () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toEqual({ build: 'skipped', 'publish-staging': 'skipped', 'publish-production': 'skipped', promote: 'skipped', advance: 'skipped', status: 'skipped', 'bump / bump': 'success', gc: 'skipped' });
      const bump = result.job('bump / bump');
      expect(bump.permissions).toMatchObject({ contents: 'write', 'pull-requests': 'write', 'id-token': 'none', deployments: 'none' });
      expect(bump.steps.find((s) => s.id === 'bump')?.inputs.base).toBe('staging');
      expect(bump.steps.find((s) => s.id === 'bump')?.outputs.operation).toBe('unchanged');
    });
  });

  describe('the Sunday schedule: the garbage collection of the store', () => {
    /** A closure pushed long ago that no manifest, host or recorded build holds: web1 of a variant never deployed. */
    let abandoned: string;
    let abandonedOnly: string[];
    const sunday = async (daysLater: number) => {
      const from = sts.issued.length;
      settings.machineEnv = { ...settings.machineEnv, FLEET_NOW: new Date(Date.now() + daysLater * DAY).toISOString() };
      try {
        const result = await run(scheduleEvent(REPO, { cron: SUNDAY, sha: (await gh.branchSha('main')) as string }));
        return { result, issued: issuedSince(from), report: JSON.parse(result.conclusions.gc?.outputs.report ?? '{}') as GcReport };
      } finally {
        delete settings.machineEnv?.FLEET_NOW;
      }
    };
    const narinfoOf = (path: string) => `${path.slice(11, 43)}.narinfo`;
    /** Manifests in the store that no pointer names any more. */
    const supersededManifests = async (): Promise<string[]> => {
      const current = new Set<string>();
      for (const key of await published()) current.add((JSON.parse(((await bucket.get(`fleet/${key}.json`)) as Buffer).toString('utf8')) as { storePath: string }).storePath);
      const manifests: string[] = [];
      for (const key of (await bucket.list('')).filter((k) => k.endsWith('.narinfo'))) {
        const storePath = /^StorePath: (.*)$/m.exec(((await bucket.get(key)) as Buffer).toString('utf8'))?.[1] ?? '';
        if (/-fleet-manifest-/.test(storePath) && !current.has(storePath)) manifests.push(storePath);
      }
      return manifests.sort();
    };
    let superseded: string[];

    beforeAll(async () => {
      abandoned = (await buildExampleFleet({ variant: 'abandoned', hosts: ['web1'] })).toplevels.web1 as string;
      const infos = await offlineNix().pathInfo([abandoned], { recursive: true });
      const pushedClosure = await pushToCache({ paths: infos, store: bucket, signingKey: parseSigningKey(cacheKeys.secret), log: memoryLog(), concurrency: 8, narWorkers: 0 });
      expect(pushedClosure.paths.filter((p) => p.status === 'failed')).toEqual([]);
      const held = new Set((await offlineNix().pathInfo([...Object.values(staging), ...Object.values(production), ...Object.values(initial)], { recursive: true })).map((i) => i.path));
      abandonedOnly = infos.map((i) => i.path).filter((p) => !held.has(p));
    }, 300_000);

    it('condemns the closure nothing holds, deletes nothing yet, with the collector role from main', async () => {
      const { result, issued, report } = await sunday(15);
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toMatchObject({ build: 'skipped', promote: 'skipped', advance: 'skipped', bump: 'skipped', 'gc / gc': 'success' });
      expect(issued).toEqual(['fleet-cache-gc for repo:acme/fleet:ref:refs/heads/main']);
      expect(result.job('gc / gc').permissions).toMatchObject({ contents: 'read', 'id-token': 'write', 'pull-requests': 'none', deployments: 'none' });
      expect(abandonedOnly).toContain(abandoned);
      // Besides the abandoned closure, the manifests newer ones replaced (web1's first) are garbage.
      expect(report.condemned.narinfos).toBe(abandonedOnly.length + (await supersededManifests()).length);
      expect(report.deleted.narinfos).toBe(0);
      // Three pointers (staging/monitor, production/web1, production/web2), four hosts' reports, the builds of staging and main.
      expect(report.roots).toMatchObject({ manifest: 6, running: 4, booted: 4 });
      expect(report.roots.build).toBeGreaterThanOrEqual(2 * HOSTS.length);
      for (const path of abandonedOnly) expect(await exists(narinfoOf(path))).toBe(true);
      superseded = await supersededManifests();
      expect(superseded).toEqual([expect.stringMatching(/-fleet-manifest-web1-1$/)]);
    }, 600_000);

    it('deletes it once condemned for min-age, and every host still finds its system in the store', async () => {
      const { result, report } = await sunday(30);
      expect(failures(result)).toEqual([]);
      const garbage = [...abandonedOnly, ...superseded].sort();
      expect(report.deletedPaths).toEqual(garbage);
      expect(JSON.parse(result.conclusions.gc?.outputs['deleted-paths'] ?? '[]')).toEqual(garbage);
      expect(result.job('gc / gc').summary).toContain(abandoned);
      for (const path of garbage) expect(await exists(narinfoOf(path))).toBe(false);
      const systems = [staging.monitor, production.web1, production.web2, ...Object.values(staging)] as string[];
      const store = await freshStore();
      const copy = await store.copyFrom(storeUrl, systems, { trustedPublicKeys: cacheKeys.public, requireSigs: true });
      expect(copy.code).toBe(0);
      // The agents' next runs change nothing.
      const before = await currentSystems();
      await agentsRun('run');
      expect(await currentSystems()).toEqual(before);
    }, 600_000);
  });
  describe("a security fix on main, while the hosts' activation window is closed", () => {
    let push: WorkflowRunResult;
    let dispatch: WorkflowRunResult;
    let fixed: Record<string, string>;
    let before: Record<string, string | undefined>;
    let reached: string[];

    beforeAll(async () => {
      // Every host switches only in a window two hours from now (its clock): fetching goes on.
      activationWindow = await windowAround(host('web1'), false);
      before = await currentSystems();
      const sha = await repository.commitVariant('security-fix', 'main');
      pushed.push(sha);
      push = await run(pushEvent(REPO, { branch: 'main', sha }));
      fixed = storePathsOf(push);
      reached = deployedHosts(push);
      await agentsRun('run');
    }, 900_000);

    afterAll(() => {
      activationWindow = undefined;
    });

    it('the push publishes production as usual: the hosts fetch the new system, wait for their window, and say so', async () => {
      expect(failures(push)).toEqual([]);
      expect(reached.length).toBeGreaterThan(0);
      expect(await currentSystems()).toEqual(before);
      for (const name of reached) {
        expect(await host(name as HostName).hasPath(fixed[name] as string)).toBe(true);
        expect((await readReport(bucket, name))?.waiting).toBe(`fetched ${fixed[name]}; waits for the activation window ${activationWindow}`);
      }
    });

    it('dispatching security-fix publishes the same systems with activate-now and nudges the agents: the hosts switch at once', async () => {
      // The nudge turned on (a secret and two variables); each host's agent is its fleet-agent.service.
      settings.vars = { ...settings.vars, FLEET_NUDGE: 'true', FLEET_KNOWN_HOSTS: fleet.knownHosts };
      settings.secrets = { ...settings.secrets, FLEET_NUDGE_SSH_KEY: fleet.privateKey };
      for (const h of fleet.hosts) await installAgentUnit(h, agentConfig(h));
      dispatch = await run(workflowDispatchEvent(REPO, { branch: 'main', sha: pushed.at(-1) as string, inputs: { mode: 'security-fix' } }));
      expect(failures(dispatch)).toEqual([]);
      expect(resultsOf(dispatch)).toMatchObject({ 'build / merge': 'success', 'publish-production / deploy': 'success', 'publish-staging': 'skipped', promote: 'skipped', advance: 'skipped', status: 'skipped', gc: 'skipped' });
      expect(dispatch.job('publish-production / deploy').steps.find((s) => s.inputs['activate-now'] !== undefined)?.inputs['activate-now']).toBe('true');
      expect(deployedHosts(dispatch)).toEqual(reached);
      const results = JSON.parse(dispatch.conclusions['publish-production']?.outputs.results ?? '{}') as Record<string, { message: string }>;
      for (const name of reached) expect(results[name]?.message).toContain('nudged: its agent runs now');
      // No timer runs here: only the nudge started the agents.
      const converged = async () => {
        const systems = await currentSystems();
        const reports = await Promise.all(reached.map((name) => readReport(bucket, name)));
        return reached.every((name, i) => systems[name] === fixed[name] && reports[i]?.system === fixed[name]);
      };
      for (let i = 0; i < 600 && !(await converged()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await currentSystems();
      for (const name of HOSTS) expect(now[name]).toBe(reached.includes(name) ? fixed[name] : before[name]);
      for (const name of reached) expect((await readReport(bucket, name))?.waiting).toBeUndefined();
    }, 900_000);
  });
});
