import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { runAction, type ActionResult } from '../support/harness.js';
import { twoGenerations } from '../support/hosts/deploy.js';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';
import { nixKeyPair } from '../support/keys.js';
import { offlineNixEnv } from '../support/nix.js';

describe('action-deploy bundle: environment-gated rollout to SSH hosts with GitHub deployments', () => {
  let fleet: SimulatedFleet;
  let gh: GitHubEmulator;
  let work: string;
  let inventory: string;
  let v1: string;
  let v2: string;

  beforeAll(async () => {
    ({ v1, v2 } = await twoGenerations('web1'));
    [fleet, gh, work] = await Promise.all([startHosts(3, { system: v1 }), startGitHubEmulator({ owner: 'acme', repo: 'fleet' }), mkdtemp(join(tmpdir(), 'fleet-deploy-e2e-'))]);
    inventory = join(work, 'fleet.yaml');
    await writeFile(
      inventory,
      stringify({
        environments: { staging: { 'allowed-refs': ['refs/heads/**'] }, production: { 'allowed-refs': ['refs/heads/main'], protected: true } },
        hosts: Object.fromEntries(fleet.hosts.map((h) => [h.name, { environment: 'production', tags: ['web'], deploy: h.inventoryHost().deploy }])),
      }),
    );
  }, 180_000);
  afterAll(async () => {
    await Promise.all([fleet?.stop(), gh?.stop(), work && rm(work, { recursive: true, force: true })]);
  });

  const deployAction = async (inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionResult> =>
    runAction('action-deploy', {
      inputs: {
        inventory,
        environment: 'production',
        hosts: 'all',
        'store-paths': JSON.stringify(Object.fromEntries(fleet.hosts.map((h) => [h.name, v2]))),
        'ssh-private-key': fleet.privateKey,
        'ssh-known-hosts': fleet.knownHosts,
        'confirm-timeout': '30s',
        ...inputs,
      },
      githubToken: gh.token,
      env: {
        NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string,
        GITHUB_API_URL: gh.apiUrl,
        GITHUB_GRAPHQL_URL: gh.graphqlUrl,
        GITHUB_SHA: (await gh.branchSha('main')) as string,
        ...env,
      },
    });

  it('refuses production from a ref the inventory does not allow, touching nothing', async () => {
    const refused = await deployAction({}, { GITHUB_REF: 'refs/heads/feature' });
    expect(refused.exitCode).toBe(1);
    expect(refused.annotations.at(-1)?.message).toContain('refs/heads/feature may not deploy to production');
    for (const host of fleet.hosts) expect(await host.currentSystem()).toBe(v1);
    expect(gh.state.deployments.size).toBe(0);
  });

  it('prints the plan on a dry run and touches nothing', async () => {
    const dry = await deployAction({ 'dry-run': 'true', 'max-concurrency': '2' });
    expect(dry.exitCode).toBe(0);
    expect(JSON.parse(dry.outputs.plan as string)).toEqual([[fleet.hosts[0]?.name], [fleet.hosts[1]?.name, fleet.hosts[2]?.name]]);
    expect(dry.summary).toContain('Dry run: nothing was touched.');
    // Each host's Nix system (the inventory's default here; `\_` renders as `_`) beside the store path it gets.
    const [first, second] = fleet.hosts.map((h) => h.name);
    expect(dry.summary).toContain('| Batch | Host | System | Store path |');
    expect(dry.summary).toContain(`| 1 (canary) | ${first} | x86\\_64-linux | \`${v2}\` |`);
    expect(dry.summary).toContain(`| 2 | ${second} | x86\\_64-linux | \`${v2}\` |`);
    expect(dry.stdout).toMatch(new RegExp(`^ {4}${first} +x86_64-linux  ${v2}$`, 'm'));
    for (const host of fleet.hosts) expect(await host.currentSystem()).toBe(v1);
  });

  it('rolls the new system out, records the deployment, and rolls a host whose health check fails back', async () => {
    const [first, second, third] = fleet.hosts;
    await third?.setFault('health-fail');
    // One check per line: the comma is the command's, and `[30s]` is the first check's own limit.
    const result = await deployAction({ 'health-checks': '[30s] systemctl is-active app.service\ntest "a,b" = "a,b"', 'max-errors': '1' });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.outputs.succeeded as string)).toEqual([first?.name, second?.name]);
    expect(JSON.parse(result.outputs['rolled-back'] as string)).toEqual([third?.name]);
    const results = JSON.parse(result.outputs.results as string) as Record<string, { outcome: string; before: string; after: string }>;
    expect(results[first?.name as string]).toMatchObject({ outcome: 'succeeded', before: v1, after: v2 });
    expect(await first?.currentSystem()).toBe(v2);
    expect(await second?.currentSystem()).toBe(v2);
    expect(await third?.currentSystem()).toBe(v1);
    expect(result.annotations.at(-1)?.message).toMatch(/1 of 3 hosts did not deploy cleanly \(host-3 rolled back\)/);

    const [deployment] = [...gh.state.deployments.values()];
    expect(deployment).toMatchObject({ environment: 'production', productionEnvironment: true });
    expect((deployment?.payload as { hosts: Record<string, string> }).hosts[first?.name as string]).toBe(v2);
    const states = (gh.state.deploymentStatuses.get(deployment?.id as number) ?? []).map((s) => (s as { state: string }).state);
    expect(states).toEqual(['in_progress', 'failure']);
    gh.assertNoViolations();
    const log = result.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    const masked = result.stdout.split('\n').filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
    for (const line of fleet.privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      expect(masked).toContain(line);
      expect(log.join('\n')).not.toContain(line);
    }
  }, 300_000);

  it("shows what a host's failing health check printed as text in the summary, and obeys none of it", async () => {
    const first = fleet.hosts[0] as (typeof fleet.hosts)[number];
    // Octal escapes, so that only the host's output (not the check's own text) holds the Markdown.
    const check = "printf '\\041\\133x\\135(https://evil/x.png) \\074img src=https://evil/y.png\\076 \\133click\\135(https://evil)\\n::add-mask::production\\n' >&2; exit 1";
    const result = await deployAction({ hosts: first.name, 'store-paths': JSON.stringify({ [first.name]: v1 }), 'health-checks': check, deployment: 'false' });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.outputs['rolled-back'] as string)).toEqual([first.name]);
    expect(result.summary).not.toMatch(/!\[x\]\(|\[click\]\(|<img/);
    expect(result.summary).toContain('!\\[x\\](https://evil/x.png) &lt;img src=https://evil/y.png&gt; \\[click\\](https://evil) / ::add-mask::production');
    expect(result.masks).not.toContain('production');
    expect(await first.currentSystem()).toBe(v2);
  }, 300_000);
});

describe('action-deploy bundle: pull hosts get a signed manifest in the store', () => {
  let work: string;
  const system = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-clinic-kin-24.11';
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-pull-e2e-'));
    await writeFile(
      join(work, 'fleet.yaml'),
      stringify({ environments: { production: { 'allowed-refs': ['refs/heads/main'] } }, hosts: { 'clinic-kin': { environment: 'production', deploy: { method: 'pull' } } } }),
    );
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const pull = (inputs: Record<string, string>) =>
    runAction('action-deploy', {
      inputs: { inventory: join(work, 'fleet.yaml'), environment: 'production', hosts: 'clinic-kin', 'store-paths': JSON.stringify({ 'clinic-kin': system }), deployment: 'false', ...inputs },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });

  it('names the missing input', async () => {
    const result = await pull({});
    expect(result.exitCode).toBe(1);
    expect(result.annotations.at(-1)?.message).toContain('Input "manifest-store": is required to deploy pull hosts (clinic-kin)');
  });

  it('publishes the manifest and its pointer, and reports the host as published', async () => {
    const keys = nixKeyPair('fleet-manifest-1');
    const result = await pull({ 'manifest-store': `file://${work}/store`, 'manifest-signing-key': keys.secret });
    expect(result.exitCode).toBe(0);
    const pointer = JSON.parse(await readFile(join(work, 'store', 'fleet', 'production', 'clinic-kin.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(pointer)).toContain(system.split('/').pop());
    const results = JSON.parse(result.outputs.results as string) as Record<string, { outcome: string; message: string }>;
    expect(results['clinic-kin']?.message).toMatch(/published/);
  });
});
