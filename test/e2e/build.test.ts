import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyExampleFleet } from '../support/example-fleet.js';
import { runAction, type ActionResult } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv } from '../support/nix.js';
import { startOidcIssuer, startSts, type IssuedCredentials, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';
import { s3rverAccounts } from '../support/s3rver-accounts.js';
import { startS3rver, type S3rverHandle } from '../support/servers/index.js';

const ROLE = 'arn:aws:iam::123456789012:role/fleet-cache-writer';
const HOSTS = ['web1', 'web2', 'clinic-kin', 'clinic-bamako'];

describe('action-build bundle: build the example fleet and push it to S3 with OIDC credentials', () => {
  let s3: S3rverHandle;
  let issuer: OidcIssuer;
  let sts: StsEmulator;
  let flakeDir: string;
  const keys = nixKeyPair();

  beforeAll(async () => {
    [s3, issuer, flakeDir] = await Promise.all([startS3rver(), startOidcIssuer({ claims: { repository: 'acme/fleet', ref: 'refs/heads/main' } }), copyExampleFleet('e2e-build')]);
    sts = await startSts({
      issuer,
      trustPolicy: { roleArn: ROLE, subjectPatterns: ['repo:acme/fleet:ref:refs/heads/main', 'repo:acme/fleet:environment:*'] },
      onIssue: (c: IssuedCredentials) => s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(c.accessKeyId, c.secretAccessKey),
    });
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), issuer?.stop(), sts?.stop(), cleanupFreshStores()]);
  });

  const build = (overrides: { inputs?: Record<string, string>; event?: object } = {}) =>
    runAction('action-build', {
      inputs: {
        flake: `path:${flakeDir}`,
        inventory: join(flakeDir, 'fleet.yaml'),
        hosts: 'web*, @clinic',
        cache: s3.cacheUrl,
        'signing-key': keys.secret,
        'role-to-assume': ROLE,
        'aws-region': 'eu-west-1',
        ...overrides.inputs,
      },
      env: {
        NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string,
        ...issuer.env,
        AWS_ENDPOINT_URL_STS: sts.endpoint,
        // No ambient credentials: only the role's may reach the bucket.
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
      ...(overrides.event ? { event: overrides.event } : {}),
    });

  let first: ActionResult;

  it('builds the selected hosts, pushes their closures, and says so in outputs and summary', async () => {
    first = await build();
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    // The post step, dist/post/index.js from action.yml's runs.post, has no eval cache to save here.
    expect(first.post).toMatchObject({ exitCode: 0, stderr: '' });
    const storePaths = JSON.parse(first.outputs['store-paths'] as string) as Record<string, string>;
    expect(Object.keys(storePaths).sort()).toEqual([...HOSTS].sort());
    expect(Number(first.outputs['pushed-paths'])).toBeGreaterThan(10);
    expect(Number(first.outputs['pushed-bytes'])).toBeGreaterThan(100_000);
    const manifest = JSON.parse(await readFile(first.outputs.manifest as string, 'utf8')) as { paths: { status: string }[]; totals: { pushed: number } };
    expect(manifest.totals.pushed).toBe(Number(first.outputs['pushed-paths']));
    expect(manifest.paths.every((p) => p.status === 'pushed')).toBe(true);
    for (const host of HOSTS) expect(first.summary).toContain(`<td>${host}</td>`);
    expect(sts.issued.length).toBeGreaterThan(0);
    // The bundle's own NAR worker (dist/nar-worker.js) did the small paths, with no fallback.
    expect(first.stdout).toMatch(/\b[1-9]\d* NARs prepared in \d+ worker threads/);
    expect(first.stdout).not.toContain('prepared on the main thread');
  });

  it('writes a cache real Nix substitutes every host from, with signatures required', async () => {
    const storePaths = JSON.parse(first.outputs['store-paths'] as string) as Record<string, string>;
    const store = await freshStore();
    const copy = await store.copyFrom(s3.url, Object.values(storePaths), { trustedPublicKeys: keys.public, requireSigs: true });
    expect(copy.stderr).not.toMatch(/error/);
    expect(copy.code).toBe(0);
    for (const path of Object.values(storePaths)) expect(await store.has(path)).toBe(true);
  });

  it('never lets the role credentials or the signing key out of the process, and masks them', () => {
    const secrets = [keys.secret, ...sts.issued.flatMap((c) => [c.accessKeyId, c.secretAccessKey, c.sessionToken])];
    // `::add-mask::` lines are commands the runner consumes to mask a value; they never reach the log.
    const masked = new Set(first.stdout.split('\n').filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length)));
    const log = first.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    const surfaces = [log, first.stderr, first.summary, JSON.stringify(first.outputs), JSON.stringify(first.exportedEnv), JSON.stringify(first.state)];
    for (const secret of secrets) {
      expect(masked).toContain(secret);
      for (const surface of surfaces) expect(surface).not.toContain(secret);
    }
    expect(Object.keys(first.exportedEnv)).toEqual([]);
  });

  it('pushes nothing the second time', async () => {
    const again = await build();
    expect(again.exitCode).toBe(0);
    expect(again.outputs['pushed-paths']).toBe('0');
    expect(Number(again.outputs['skipped-paths'])).toBe(JSON.parse(await readFile(first.outputs.manifest as string, 'utf8')).paths.length);
  });

  it('fails with the token subject when the role does not trust this ref', async () => {
    issuer.setClaims({ repository: 'acme/fleet', ref: 'refs/heads/feature' });
    try {
      const denied = await build();
      expect(denied.exitCode).toBe(1);
      const message = denied.annotations.find((a) => a.level === 'error')?.message ?? '';
      expect(message).toContain('repo:acme/fleet:ref:refs/heads/feature');
      expect(message).toMatch(/trust policy/i);
    } finally {
      issuer.setClaims({ repository: 'acme/fleet', ref: 'refs/heads/main' });
    }
  });

  it('builds but never asks for credentials on a pull request from a fork', async () => {
    const tokensBefore = issuer.requests.length;
    const fork = await build({
      event: { pull_request: { head: { repo: { full_name: 'mallory/fleet', fork: true } } }, repository: { full_name: 'acme/fleet' } },
    });
    expect(fork.exitCode).toBe(0);
    expect(fork.stdout).toContain('a pull request from a fork');
    expect(fork.outputs['pushed-paths']).toBe('0');
    expect(issuer.requests.length).toBe(tokensBefore);
  });
});
