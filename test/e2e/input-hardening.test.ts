import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { repoRoot, runAction, type ActionResult } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc/index.js';

/**
 * Bad inputs through each committed bundle: the step fails naming the input, showing the value
 * (never a secret) and a good one, before GitHub or the OIDC issuer hears anything.
 */
describe('bad inputs fail before anything is contacted', () => {
  let gh: GitHubEmulator;
  let oidc: OidcIssuer;
  let work: string;
  const ROLE = 'arn:aws:iam::123456789012:role/fleet-ci';

  beforeAll(async () => {
    [gh, oidc, work] = await Promise.all([startGitHubEmulator({ owner: 'acme', repo: 'fleet' }), startOidcIssuer(), mkdtemp(join(tmpdir(), 'fleet-bad-inputs-'))]);
    await writeFile(
      join(work, 'fleet.yaml'),
      stringify({
        environments: { production: { 'allowed-refs': ['refs/heads/main'] }, staging: { 'allowed-refs': ['refs/heads/staging'] } },
        waves: { first: { order: 1, soak: '1h' } },
        hosts: { web1: { environment: 'production', wave: 'first', deploy: { method: 'ssh', host: 'web1.example.org' } }, 'clinic-kin': { environment: 'production', deploy: { method: 'pull' } } },
      }),
    );
  });
  afterAll(async () => {
    await Promise.all([gh?.stop(), oidc?.stop(), work && rm(work, { recursive: true, force: true })]);
  });

  const run = (action: string, inputs: Record<string, string>) =>
    runAction(action, { inputs, githubToken: gh.token, cwd: work, env: { ...gh.env(), ...oidc.env, AWS_REGION: 'eu-west-1' } });

  function expectRefused(result: ActionResult, message: string) {
    expect(result.exitCode).toBe(1);
    expect(result.annotations.filter((a) => a.level === 'error').map((a) => a.message)).toContainEqual(expect.stringContaining(message));
    expect(gh.requests).toEqual([]);
    expect(oidc.requests).toEqual([]);
  }

  it.each([
    ['health-check-timeout', '25d', 'Input "health-check-timeout": "25d" is longer than the maximum 1h. Example: health-check-timeout: 60s'],
    ['confirm-timeout', '30d', 'Input "confirm-timeout": "30d" is longer than the maximum 1h. Example: confirm-timeout: 90s'],
    ['manifest-lifetime', '999999999999d', 'Input "manifest-lifetime": "999999999999d" is longer than the maximum 90d. Example: manifest-lifetime: 30d'],
    ['wait', '25d', 'Input "wait": "25d" is longer than the maximum 5d. Example: wait: 30m'],
    [
      'health-checks',
      'systemctl is-active nginx\n[25d] curl -fsS localhost',
      'Input "health-checks": line 2 "[25d] curl -fsS localhost": the time limit 25d is longer than the maximum 1h. Example: health-checks: [30s] systemctl is-active nginx',
    ],
    ['health-checks', '[soon] true', 'Input "health-checks": line 1 "[soon] true": "[soon]" is not a time limit (use s, m or h). Example: health-checks: [30s] systemctl is-active nginx'],
  ])('action-deploy refuses %s %j', async (name, value, message) => {
    const result = await run('action-deploy', { environment: 'production', hosts: 'all', 'role-to-assume': ROLE, [name]: value });
    expectRefused(result, message);
    expect(result.stderr).not.toContain('TimeoutOverflowWarning');
  });

  it('action-build shows the cache URL it refuses, without its password', async () => {
    const result = await run('action-build', { cache: 'ftp://deploy:hunter2@cache.example.org/nix', 'role-to-assume': ROLE });
    expectRefused(result, 'Input "cache": "ftp://deploy:***@cache.example.org/nix" must start with s3://, http://, https://, file://, ssh:// or ssh-ng://. Example: cache: s3://');
    expect(`${result.stdout}${result.stderr}${result.summary}`).not.toContain('hunter2');
  });

  it.each([
    ['branch', 'flake-bump..x', 'Input "branch": "flake-bump..x" contains "..", which git forbids in ref names. Example: branch: flake-bump'],
    ['base', 'refs/heads/main', 'Input "base": "refs/heads/main" is a full ref: give the branch name without "refs/heads/". Example: base: main'],
    ['branch', 'bump main', 'Input "branch": "bump main" contains a space or a control character. Example: branch: flake-bump'],
  ])('action-flake-bump refuses %s %j before the API is called', async (name, value, message) => {
    expectRefused(await run('action-flake-bump', { token: gh.token, [name]: value }), message);
  });

  it.each([
    ['source-branch', 'staging..main', 'Input "source-branch": "staging..main" contains "..", which git forbids in ref names. Example: source-branch: staging'],
    ['target-branch', '-main', 'Input "target-branch": "-main" starts with "-" (git would read it as an option). Example: target-branch: main'],
    ['soak', '999999999999d', 'Input "soak": "999999999999d" is longer than the maximum 90d. Example: soak: 24h'],
    ['offline-after', '25000d', 'Input "offline-after": "25000d" is longer than the maximum 90d. Example: offline-after: 7d'],
  ])('action-upgrade-wave refuses %s %j before the API or the OIDC issuer is called', async (name, value, message) => {
    const result = await run('action-upgrade-wave', { mode: 'promote', cache: 's3://fleet-status?region=eu-west-1', 'role-to-assume': ROLE, [name]: value });
    expectRefused(result, message);
  });
});

describe('the previous manifest pointer of a pull host', () => {
  let server: Server;
  let work: string;
  const puts: string[] = [];
  const objects = new Map<string, Buffer>();
  const system = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-clinic-kin-24.11';

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-pointer-403-'));
    await writeFile(join(work, 'fleet.yaml'), stringify({ environments: { production: { 'allowed-refs': ['refs/heads/main'] } }, hosts: { 'clinic-kin': { environment: 'production', deploy: { method: 'pull' } } } }));
    // A cache whose credentials may write but not read the pointers, as an S3 role without s3:GetObject on fleet/*.
    server = createServer((req, res) => {
      const key = decodeURIComponent((req.url ?? '/').slice(1));
      const body: Buffer[] = [];
      req.on('data', (chunk: Buffer) => body.push(chunk));
      req.on('end', () => {
        if (req.method === 'PUT') {
          puts.push(key);
          objects.set(key, Buffer.concat(body));
          res.writeHead(201).end();
        } else if (key.startsWith('fleet/')) {
          res.writeHead(403).end('Forbidden');
        } else if (objects.has(key)) {
          res.writeHead(200).end(req.method === 'HEAD' ? undefined : objects.get(key));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('is not "missing" on a 403: the host fails with what the role needs, and no manifest is published', async () => {
    const store = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runAction('action-deploy', {
      inputs: { inventory: join(work, 'fleet.yaml'), environment: 'production', hosts: 'clinic-kin', 'store-paths': JSON.stringify({ 'clinic-kin': system }), deployment: 'false', 'manifest-store': store, 'manifest-signing-key': nixKeyPair('fleet-manifest-1').secret },
      cwd: work,
    });
    expect(result.exitCode).toBe(1);
    const results = JSON.parse(result.outputs.results as string) as Record<string, { outcome: string; message: string }>;
    expect(results['clinic-kin']?.outcome).toBe('failed');
    expect(results['clinic-kin']?.message).toContain(`cannot read the current manifest pointer ${store}/fleet/production/clinic-kin.json (GET ${store}/fleet/production/clinic-kin.json failed: HTTP 403`);
    expect(results['clinic-kin']?.message).toContain('need read access to fleet/production/clinic-kin.json (on S3: s3:GetObject on it');
    expect(puts.filter((key) => key.startsWith('fleet/') || key.endsWith('.narinfo'))).toEqual([]);
  });
});

describe('fleet command line: --NAME-file', () => {
  const fleet = (args: string[]) =>
    promisify(execFile)(join(repoRoot, 'bin', 'fleet'), args).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('names the flag and the path it cannot read, with an example', async () => {
    const missing = await fleet(['build', '--signing-key-file', '/nonexistent/fleet-key', '--cache', 'file:///tmp/x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('fleet: --signing-key-file: cannot read "/nonexistent/fleet-key": no such file (example: --signing-key-file ~/.config/fleet/signing-key)');
    const noPath = await fleet(['build', '--signing-key-file', '--cache', 'file:///tmp/x']);
    expect(noPath.code).toBe(2);
    expect(noPath.stderr).toContain('fleet: --signing-key-file needs the path of a file holding the value');
  });
});
