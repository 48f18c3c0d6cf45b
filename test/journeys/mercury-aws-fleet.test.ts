/**
 * Journey: a Mercury-like AWS fleet's repository runs examples/workflows/mercury-aws-fleet.yml, which
 * calls our build.yml, vm-test.yml and deploy.yml (twice: staging, then production). Nothing holds a
 * long-lived AWS key: the OIDC issuer mints each job's token (its ref, event and environment) and STS
 * trades it for the cache writer (any branch's build) or an environment's deployer role (only that
 * environment's jobs; the production environment takes main only).
 *
 * The fleet: web1 (staging) and web2 (production) are stateless aarch64-linux services, each an Auto
 * Scaling group of t4g instances rolled by instance refresh; monitor (staging) and db1 (production) are
 * stateful x86_64-linux hosts that take the new system through SSM Run Command.
 *
 * What is real: Nix builds the x86_64 hosts from the checked-out flake; action-build pushes them to an
 * s3rver bucket with the writer role's credentials; action-deploy sends the NixOS-Deploy document
 * (host/aws/NixOS-Deploy.json) to monitor and db1, which are simulated hosts: the mock's SSM Agent runs
 * the document's script there, which fetches the system from the bucket and switches to it. What is
 * not: the aarch64-linux build job is planned and dispatched to the ARM runner, which this machine
 * is not; the `remoteRunner` stand-in answers for it with the hosts' evaluated system paths (nothing
 * is built or pushed for them here). Auto Scaling, EC2 and SSM are the mock in test/support/aws,
 * checked against the SDK's models (test/unit/aws-mock); its instance refreshes replace instances at
 * once, so an ASG host "runs" the fleet:system tag of its instances' launch template version.
 *
 * Events, in order: a push to main (variant 2: staging, then production), a pull request (variant 3:
 * built, nothing pushed, no AWS credential, nothing deployed), a manual run from branch hotfix
 * (variant 4: staging only), and a push to main whose web release fails its health checks on
 * staging (variant 5: the refresh rolls back, production is not touched).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { repoRoot } from '../support/harness.js';
import { buildExampleFleet } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';
import { createFleetRepository, type FleetRepository } from '../support/journeys/fleet-repository.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, OFFLINE_NIX_CONFIG, runNix } from '../support/nix.js';
import { pullRequestEvent, pushEvent, runWorkflow, workflowDispatchEvent, type RunnerSettings, type WorkflowRunResult } from '../support/workflows/index.js';
import type { RemoteLeg } from '../support/workflows/types.js';
import { startOidcIssuer, startSts, type IssuedCredentials, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';
import { s3rverAccounts } from '../support/s3rver-accounts.js';
import { startS3rver, type S3rverHandle } from '../support/servers/index.js';
import { AutoScalingAccount, managedInstanceOn, SsmAccount, startAwsMock, type AwsMock, type CommandDocument } from '../support/aws/index.js';
import type { Host } from '../../src/fleet/types.js';

const CALLER = join(repoRoot, 'examples', 'workflows', 'mercury-aws-fleet.yml');
const REPO = { fullName: 'acme/fleet', defaultBranch: 'main' };
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const ROLES = { writer: role('nix-cache-writer'), staging: role('fleet-deployer-staging'), production: role('fleet-deployer-production') };
/** The SSM hosts are simulated hosts; the ASG hosts are groups of the mock. */
const SSM_HOSTS = ['monitor', 'db1'] as const;
const INSTANCE = { db1: 'i-0db1a2b3c4d5e6f70', monitor: 'i-0ae1b2c3d4e5f6071' } as const;
const GROUP = { web1: 'web-staging', web2: 'web-production' } as const;
const ENVIRONMENT: Record<string, 'staging' | 'production'> = { web1: 'staging', monitor: 'staging', web2: 'production', db1: 'production' };
/** What each deployer role's policy names: its environment's groups, launch templates and instances. */
const RESOURCES = { staging: [GROUP.web1, INSTANCE.monitor], production: [GROUP.web2, INSTANCE.db1] };
const X86_LEG = 'build / build (x86_64-linux, ubuntu-latest, monitor,db1)';
const ARM_LEG = 'build / build (aarch64-linux, ubuntu-24.04-arm, web1,web2)';
/** Every event builds and tests both systems. */
const BUILT = { 'build / plan': 'success', [X86_LEG]: 'success', [ARM_LEG]: 'success', 'build / merge': 'success', 'vm-tests / vm-test': 'success' };

describe('journey: Mercury-like AWS fleet (examples/workflows/mercury-aws-fleet.yml)', () => {
  let fleet: SimulatedFleet;
  let gh: GitHubEmulator;
  let s3: S3rverHandle;
  let issuer: OidcIssuer;
  let sts: StsEmulator;
  let aws: AwsMock;
  let asg: AutoScalingAccount;
  let ssm: SsmAccount;
  let repository: FleetRepository;
  let settings: RunnerSettings;
  let initial: Record<string, string>;
  let event: { ref: string; event_name: string } = { ref: 'refs/heads/main', event_name: 'push' };
  const armLegs: RemoteLeg[] = [];
  const reviews: string[] = [];
  const keys = nixKeyPair('mercury-cache-1');
  /** Every host's system after the first push: later events that deploy nothing must leave them there. */
  let released: Record<string, string> = {};

  const run = (trigger: Parameters<typeof runWorkflow>[1]) => {
    event = { ref: trigger.ref, event_name: trigger.name };
    return runWorkflow(join(repository.dir, '.github', 'workflows', 'fleet.yml'), trigger, settings, { localRoot: repository.dir });
  };
  const resultsOf = (result: WorkflowRunResult): Record<string, string> => Object.fromEntries(result.jobs.map((j) => [j.name, j.result]));
  const failures = (result: WorkflowRunResult): string[] =>
    result.jobs.filter((j) => j.result === 'failure').flatMap((j) => j.steps.filter((s) => s.conclusion === 'failure').map((s) => `${j.name} / ${s.name}:\n${s.stdout}\n${s.stderr}`));
  const storePathsOf = (result: WorkflowRunResult): Record<string, string> => JSON.parse(result.conclusions.build?.outputs['store-paths'] ?? '{}') as Record<string, string>;
  /** Role and token subject of the credentials STS issued since `from`. */
  const issuedSince = (from: number): string[] => [...new Set(sts.issued.slice(from).map((c) => `${c.roleArn.replace(/^.*:role\//, '')} for ${c.subject}`))].sort();
  /** What each host runs: the SSM hosts' current system, the groups' instances' tagged system. */
  const running = async (): Promise<Record<string, string | undefined>> => {
    const ssmHosts = await Promise.all(fleet.hosts.map(async (h) => [h.name, await h.currentSystem()] as const));
    const groups = Object.entries(GROUP).map(([host, group]) => {
      const systems = [...new Set(asg.instanceSystems(group))];
      return [host, systems.length === 1 ? systems[0] : `mixed: ${systems.join(' ')}`] as const;
    });
    return Object.fromEntries([...ssmHosts, ...groups].sort(([a], [b]) => a.localeCompare(b)));
  };
  /** The mock's calls since `from`: principal role → service:action on resource. */
  const awsCallsSince = (from: number): string[] =>
    [...new Set(aws.calls.slice(from).map((c) => `${c.principal?.replace(/^.*:assumed-role\/([^/]+)\/.*$/, '$1') ?? 'anonymous'} ${c.service}:${c.action}${c.code ? ` ${c.code}` : ''}`))].sort();
  /** The narinfos in the bucket: what has been pushed so far. */
  const narinfos = async (): Promise<string[]> => {
    const client = new S3Client({ endpoint: s3.endpoint, region: REGION, credentials: s3.credentials, forcePathStyle: true });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'mercury-nix-cache' }));
      return (listed.Contents ?? []).flatMap((o) => (o.Key?.endsWith('.narinfo') ? [o.Key] : [])).sort();
    } finally {
      client.destroy();
    }
  };

  /** The ARM runner this machine is not: what its build job would output, the hosts' system paths (evaluated, not built). */
  const armRunner = async (leg: RemoteLeg) => {
    armLegs.push(leg);
    const hosts = String(leg.matrix.hosts).split(',');
    const paths = await Promise.all(
      hosts.map(async (host) => {
        const out = await runNix(['eval', '--raw', `path:${repository.dir}#nixosConfigurations.${host}.config.system.build.toplevel.outPath`]);
        if (out.code !== 0) throw new Error(`evaluating ${host} for the ARM leg: ${out.stderr}`);
        return [host, out.stdout.trim()] as const;
      }),
    );
    const index = String(leg.strategy['job-index']);
    return { result: 'success' as const, artifacts: { [`fleet-store-paths-${index}`]: { [`store-paths-${index}.json`]: JSON.stringify(Object.fromEntries(paths)) } } };
  };

  beforeAll(async () => {
    initial = (await buildExampleFleet({ variant: '1', hosts: [...SSM_HOSTS, 'web1', 'web2'] })).toplevels;
    [fleet, gh, s3, issuer] = await Promise.all([
      startHosts(SSM_HOSTS.length, { names: (i) => SSM_HOSTS[i] as string, system: (i) => initial[SSM_HOSTS[i] as string] as string }),
      startGitHubEmulator({ owner: 'acme', repo: 'fleet', initialFiles: null }),
      startS3rver({ bucket: 'mercury-nix-cache' }),
      startOidcIssuer({ claims: { repository: 'acme/fleet' } }),
    ]);
    // Each instance's own NixOS configuration trusts the cache's key; the document never passes keys.
    for (const h of fleet.hosts) {
      const conf = join(h.root, 'etc-nix', 'nix.conf');
      await writeFile(conf, `${await readFile(conf, 'utf8')}trusted-public-keys = ${keys.public}\n`);
    }
    const issued = new Map<string, IssuedCredentials>();
    sts = await startSts({
      issuer,
      trustPolicy: [
        { roleArn: ROLES.writer, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/*'] },
        { roleArn: ROLES.staging, subjectPatterns: ['repo:acme/fleet:environment:staging'] },
        { roleArn: ROLES.production, subjectPatterns: ['repo:acme/fleet:environment:production'] },
      ],
      onIssue: (c) => {
        issued.set(c.accessKeyId, c);
        // Only the writer's keys open the bucket; the deployers' reach the AWS APIs alone.
        if (c.roleArn === ROLES.writer) s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(c.accessKeyId, c.secretAccessKey);
      },
    });
    const document = JSON.parse(await readFile(join(repoRoot, 'host', 'aws', 'NixOS-Deploy.json'), 'utf8')) as CommandDocument;
    const host = (name: string) => fleet.hosts.find((h) => h.name === name) as SimulatedFleet['hosts'][number];
    asg = new AutoScalingAccount([
      { name: GROUP.web1, region: REGION, launchTemplate: { name: GROUP.web1, data: { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'fleet:system', Value: initial.web1 as string }] }] } }, capacity: 2 },
      { name: GROUP.web2, region: REGION, launchTemplate: { name: GROUP.web2, data: { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'fleet:system', Value: initial.web2 as string }] }] } }, capacity: 6 },
    ]);
    ssm = new SsmAccount({ 'NixOS-Deploy': document }, [managedInstanceOn(host('db1'), INSTANCE.db1, { Name: 'db1' }), managedInstanceOn(host('monitor'), INSTANCE.monitor, { Name: 'monitor' })]);
    const templateIds = (names: readonly string[]) => names.flatMap((n) => asg.launchTemplateId(n) ?? []);
    aws = await startAwsMock({
      credentials: (id) => {
        const c = issued.get(id);
        return c ? { secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, principal: c.assumedRoleArn } : undefined;
      },
      autoScaling: asg,
      ssm,
      // IAM: each deployer may touch its own environment's groups, templates and instances only.
      allows: ({ principal, resource }) => {
        const environment = principal.includes('/fleet-deployer-production/') ? 'production' : principal.includes('/fleet-deployer-staging/') ? 'staging' : undefined;
        if (!environment) return false;
        const mine = [...RESOURCES[environment], ...templateIds(RESOURCES[environment])];
        return resource.split(',').every((r) => mine.includes(r));
      },
    });
    const hosts: Host[] = [
      ...SSM_HOSTS.map((name) => host(name).inventoryHost({ environment: ENVIRONMENT[name], tags: ['stateful'], deploy: name === 'db1' ? { method: 'aws-ssm', instanceIds: [INSTANCE.db1] } : { method: 'aws-ssm', tags: { Name: 'monitor' } } })),
      ...(['web1', 'web2'] as const).map((name): Host => ({ name, attribute: name, system: 'aarch64-linux', environment: ENVIRONMENT[name] as string, tags: ['web'], deploy: { method: 'aws-asg', autoScalingGroup: GROUP[name], launchTemplate: GROUP[name] } })),
    ];
    repository = await createFleetRepository({
      remote: gh.cloneUrl,
      hosts,
      environments: { staging: { 'allowed-refs': ['refs/heads/*'] }, production: { 'allowed-refs': ['refs/heads/main'], protected: true } },
      callerWorkflow: CALLER,
    });
    settings = {
      repository: REPO.fullName,
      cloneUrl: gh.cloneUrl,
      github: { apiUrl: gh.apiUrl, graphqlUrl: gh.graphqlUrl, serverUrl: 'https://github.com', token: gh.token },
      vars: {
        NIX_CACHE: s3.cacheUrl,
        NIX_CACHE_HTTP: s3.url,
        NIX_CACHE_PUBLIC_KEY: keys.public,
        AWS_REGION: REGION,
        CACHE_WRITER_ROLE: ROLES.writer,
        STAGING_DEPLOYER_ROLE: ROLES.staging,
        PRODUCTION_DEPLOYER_ROLE: ROLES.production,
      },
      secrets: { NIX_SIGNING_KEY: keys.secret },
      environments: {
        staging: {},
        production: {
          deploymentRefs: ['main'],
          review: ({ job, ref }) => {
            reviews.push(`${job} from ${ref}`);
            return true;
          },
        },
      },
      machineEnv: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        XDG_CACHE_HOME: offlineNixEnv().XDG_CACHE_HOME as string,
        AWS_ENDPOINT_URL_STS: sts.endpoint,
        ...aws.env,
        // No ambient credentials: only the roles' reach AWS.
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
      oidcEnv: issuer.env,
      nixConfig: OFFLINE_NIX_CONFIG,
      remoteRunner: armRunner,
      onJobStart: ({ permissions: p, environment }) => {
        gh.setTokenPermissions({ contents: p.contents, pullRequests: p['pull-requests'], issues: p.issues, deployments: p.deployments, statuses: p.statuses });
        issuer.setClaims({ repository: 'acme/fleet', ref: event.ref, event_name: event.event_name, ...(environment ? { environment } : {}) });
      },
    };
  }, 300_000);
  afterAll(async () => {
    await aws?.stop();
    await Promise.all([fleet?.stop(), gh?.stop(), s3?.stop(), issuer?.stop(), sts?.stop(), cleanupFreshStores()]);
  });

  describe('a push to main', () => {
    let result: WorkflowRunResult;
    let storePaths: Record<string, string>;
    let issued: string[];
    let calls: string[];

    beforeAll(async () => {
      const [fromSts, fromAws] = [sts.issued.length, aws.calls.length];
      const sha = await repository.commitVariant('2', 'main');
      result = await run(pushEvent(REPO, { branch: 'main', sha }));
      storePaths = storePathsOf(result);
      issued = issuedSince(fromSts);
      calls = awsCallsSince(fromAws);
    }, 900_000);

    it('builds both systems, each in its own job, tests, then deploys staging and after it production', () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toEqual({
        ...BUILT,
        'staging / deploy': 'success',
        'production / deploy': 'success',
      });
      expect(result.job(X86_LEG)).toMatchObject({ runsOn: ['ubuntu-latest'] });
      expect(result.job(X86_LEG).ranRemotely).toBeUndefined();
      expect(Object.keys(storePaths).sort()).toEqual(['db1', 'monitor', 'web1', 'web2']);
      for (const [name, path] of Object.entries(storePaths)) expect(path).not.toBe(initial[name]);
    });

    it('dispatches the aarch64-linux hosts to the ARM runner, which this machine is not (it is planned, not built here)', () => {
      expect(result.job(ARM_LEG)).toMatchObject({ runsOn: ['ubuntu-24.04-arm'], ranRemotely: true });
      expect(armLegs.map((l) => [l.matrix.system, l.matrix.hosts, l.inputs.cache])).toEqual([['aarch64-linux', 'web1,web2', s3.cacheUrl]]);
    });

    it('reaches AWS with a role per job: the writer for the build, each environment its own deployer', () => {
      expect(issued).toEqual([
        'fleet-deployer-production for repo:acme/fleet:environment:production',
        'fleet-deployer-staging for repo:acme/fleet:environment:staging',
        'nix-cache-writer for repo:acme/fleet:ref:refs/heads/main',
      ]);
      expect(calls).toEqual([
        'fleet-deployer-production autoscaling:DescribeAutoScalingGroups',
        'fleet-deployer-production autoscaling:DescribeInstanceRefreshes',
        'fleet-deployer-production autoscaling:StartInstanceRefresh',
        'fleet-deployer-production ec2:CreateLaunchTemplateVersion',
        'fleet-deployer-production ec2:DescribeLaunchTemplateVersions',
        'fleet-deployer-production ssm:ListCommandInvocations',
        'fleet-deployer-production ssm:ListCommands',
        'fleet-deployer-production ssm:SendCommand',
        'fleet-deployer-staging autoscaling:DescribeAutoScalingGroups',
        'fleet-deployer-staging autoscaling:DescribeInstanceRefreshes',
        'fleet-deployer-staging autoscaling:StartInstanceRefresh',
        'fleet-deployer-staging ec2:CreateLaunchTemplateVersion',
        'fleet-deployer-staging ec2:DescribeLaunchTemplateVersions',
        'fleet-deployer-staging ssm:ListCommandInvocations',
        'fleet-deployer-staging ssm:ListCommands',
        'fleet-deployer-staging ssm:SendCommand',
      ]);
    });

    it('pushes the x86_64 closures to the bucket, signed, for real Nix to substitute', async () => {
      const store = await freshStore();
      const paths = [storePaths.db1, storePaths.monitor] as string[];
      const copy = await store.copyFrom(s3.url, paths, { trustedPublicKeys: keys.public, requireSigs: true });
      expect(copy.code).toBe(0);
      for (const path of paths) expect(await store.has(path)).toBe(true);
    });

    it('leaves every host on its new system: the groups refreshed to a launch template tagged with it, the SSM hosts switched by the document', async () => {
      released = storePaths;
      expect(await running()).toEqual(storePaths);
      expect(asg.refreshesOf(GROUP.web2)).toEqual([{ status: 'Successful', toVersion: 2, preferences: expect.objectContaining({ SkipMatching: 'true', AutoRollback: 'true' }) }]);
      const sent = ssm.sent();
      expect(sent.map((c) => [c.instanceIds, c.parameters.storePath, c.parameters.substituters])).toEqual([
        [[INSTANCE.monitor], [storePaths.monitor], [s3.url]],
        [[INSTANCE.db1], [storePaths.db1], [s3.url]],
      ]);
      expect(sent.map((c) => c.request.MaxConcurrency)).toEqual(['25%', '10%']);
    });

    it('records a GitHub deployment per environment, production approved from main', () => {
      expect(reviews).toEqual(['production / deploy from refs/heads/main']);
      const deployments = [...gh.state.deployments.values()].map((d) => [d.environment, (d.payload as { hosts: Record<string, string> }).hosts]);
      expect(deployments).toEqual([
        ['staging', { monitor: storePaths.monitor, web1: storePaths.web1 }],
        ['production', { db1: storePaths.db1, web2: storePaths.web2 }],
      ]);
      for (const d of gh.state.deployments.values()) expect((gh.state.deploymentStatuses.get(d.id) ?? []).map((s) => (s as { state: string }).state).at(-1)).toBe('success');
      expect(result.job('production / deploy').summary).toMatch(/\|\s*web2\s*\|\s*succeeded\s*\|/);
    });
  });

  describe('a pull request', () => {
    let result: WorkflowRunResult;
    let before: { narinfos: string[]; issued: number; calls: number; deployments: number };

    beforeAll(async () => {
      before = { narinfos: await narinfos(), issued: sts.issued.length, calls: aws.calls.length, deployments: gh.state.deployments.size };
      const headSha = await repository.commitVariant('3', 'pr-next');
      result = await run(pullRequestEvent(REPO, { number: 1, head: 'pr-next', headSha, base: 'main' }));
    }, 900_000);

    it('builds and tests the proposed systems, and deploys nothing', () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toEqual({
        ...BUILT,
        staging: 'skipped',
        production: 'skipped',
      });
      const storePaths = storePathsOf(result);
      expect(storePaths.db1).not.toBe(released.db1);
    });

    it('asks for no AWS credential, pushes nothing and leaves every host where it was', async () => {
      expect(sts.issued.length).toBe(before.issued);
      expect(aws.calls.length).toBe(before.calls);
      expect(await narinfos()).toEqual(before.narinfos);
      expect(gh.state.deployments.size).toBe(before.deployments);
      expect(await running()).toEqual(released);
    });
  });

  describe('a manual run from branch hotfix', () => {
    let result: WorkflowRunResult;
    let issued: string[];
    let calls: string[];

    beforeAll(async () => {
      const [fromSts, fromAws] = [sts.issued.length, aws.calls.length];
      const sha = await repository.commitVariant('4', 'hotfix');
      result = await run(workflowDispatchEvent(REPO, { branch: 'hotfix', sha }));
      issued = issuedSince(fromSts);
      calls = awsCallsSince(fromAws);
    }, 900_000);

    it('deploys the branch to staging, and production not at all', async () => {
      expect(failures(result)).toEqual([]);
      expect(resultsOf(result)).toMatchObject({ 'build / merge': 'success', 'staging / deploy': 'success', production: 'skipped' });
      const storePaths = storePathsOf(result);
      expect(await running()).toEqual({ db1: released.db1, monitor: storePaths.monitor, web1: storePaths.web1, web2: released.web2 });
    });

    it('never asks for the production role, nor touches a production resource', () => {
      expect(issued).toEqual(['fleet-deployer-staging for repo:acme/fleet:environment:staging', 'nix-cache-writer for repo:acme/fleet:ref:refs/heads/hotfix']);
      expect(calls.every((c) => c.startsWith('fleet-deployer-staging '))).toBe(true);
      expect(calls.some((c) => /AccessDenied|UnauthorizedOperation/.test(c))).toBe(false);
    });
  });

  describe('a push to main whose web release fails its health checks on staging', () => {
    let result: WorkflowRunResult;
    let before: Record<string, string | undefined>;
    let issued: string[];

    beforeAll(async () => {
      before = await running();
      const fromSts = sts.issued.length;
      asg.verdict = (group) => (group === GROUP.web1 ? 'unhealthy' : 'healthy');
      const sha = await repository.commitVariant('5', 'main');
      result = await run(pushEvent(REPO, { branch: 'main', sha }));
      issued = issuedSince(fromSts);
    }, 900_000);
    afterAll(() => {
      asg.verdict = () => 'healthy';
    });

    it('rolls the staging group back, fails the staging deploy, and never starts production', () => {
      expect(resultsOf(result)).toMatchObject({ 'build / merge': 'success', 'staging / deploy': 'failure', production: 'skipped' });
      expect(asg.refreshesOf(GROUP.web1).at(-1)).toMatchObject({ status: 'RollbackSuccessful' });
      const deploy = result.job('staging / deploy');
      expect(deploy.summary).toMatch(/\|\s*web1\s*\|\s*rolled-back\s*\|/);
      expect(deploy.steps.flatMap((step) => step.annotations.map((a) => a.message)).join('\n')).toBe('1 of 2 hosts did not deploy cleanly (web1 rolled back); 0 skipped. The Results table in the job summary says why.');
      expect(issued).not.toContain(expect.stringContaining('fleet-deployer-production'));
    });

    it('leaves web1 on the release before, monitor on the new one, and production untouched', async () => {
      const now = await running();
      expect(now.web1).toBe(before.web1);
      expect(now.monitor).toBe(storePathsOf(result).monitor);
      expect(now.monitor).not.toBe(before.monitor);
      expect(now.web2).toBe(released.web2);
      expect(now.db1).toBe(released.db1);
    });
  });
});
