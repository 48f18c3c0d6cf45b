import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderStatusReport, statusReportKey } from '../../src/fleet/status.js';
import { FLEET_YAML, NOW, report, systemPath } from '../integration/wave-fixtures.js';
import { copyExampleFleet } from '../support/example-fleet.js';
import { repoRoot } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv } from '../support/nix.js';

const run = promisify(execFile);
const fleet = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(join(repoRoot, 'bin', 'fleet'), args, { env: { ...offlineNixEnv(), ...env }, maxBuffer: 1 << 24 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('fleet command line', () => {
  let work: string;
  const keys = nixKeyPair();
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-cli-'));
  });
  afterAll(async () => {
    await Promise.all([rm(work, { recursive: true, force: true }), cleanupFreshStores()]);
  });

  it('builds and pushes with the action bundle, printing outputs as JSON and the summary as text', async () => {
    const flake = await copyExampleFleet('cli');
    const cache = join(work, 'cache');
    const result = await fleet(['build', '--flake', `path:${flake}`, '--inventory', join(flake, 'fleet.yaml'), '--hosts', 'web1', '--cache', `file://${cache}`], {
      FLEET_SIGNING_KEY: keys.secret,
    });
    expect(result.code).toBe(0);
    const outputs = JSON.parse(result.stdout) as { 'store-paths': Record<string, string>; 'pushed-paths': string };
    const storePaths = outputs['store-paths'];
    expect(Number(outputs['pushed-paths'])).toBeGreaterThan(0);
    expect(Object.keys(storePaths)).toEqual(['web1']);
    expect(result.stderr).toMatch(/^web1\s+x86_64-linux\s+✅ built\s+\/nix\/store\/\S+-nixos-system-web1-/m);
    expect(result.stderr).not.toContain('::');
    expect(result.stderr).not.toContain(keys.secret);
    const store = await freshStore();
    expect((await store.copyFrom(`file://${cache}`, [storePaths.web1 as string], { trustedPublicKeys: keys.public })).code).toBe(0);
  });

  it('reads secrets from a file, never from argv', async () => {
    const refused = await fleet(['build', '--signing-key', keys.secret]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--signing-key would put a secret on the command line: use --signing-key-file PATH or FLEET_SIGNING_KEY');
    const keyFile = join(work, 'key');
    await writeFile(keyFile, 'not-a-key', { mode: 0o600 });
    const bad = await fleet(['build', '--signing-key-file', keyFile, '--cache', `file://${work}/c2`, '--installables', '/nix/store/x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: Input "signing-key": /);
  });

  it('writes the status page with fleet status --html, from the reports in a store', async () => {
    const dir = join(work, 'status');
    const cache = join(dir, 'cache');
    await mkdir(join(cache, 'fleet', 'status'), { recursive: true });
    await writeFile(join(dir, 'fleet.yaml'), FLEET_YAML);
    await writeFile(join(cache, 'nix-cache-info'), 'StoreDir: /nix/store\n');
    for (const host of ['stage1', 'web1']) await writeFile(join(cache, statusReportKey(host)), renderStatusReport(report(host)));
    const expected = JSON.stringify(Object.fromEntries(['stage1', 'stage2', 'web1', 'web2', 'clinic-kin'].map((h) => [h, systemPath(h)])));
    const result = await run(join(repoRoot, 'bin', 'fleet'), ['status', '--inventory', 'fleet.yaml', '--cache', `file://${cache}`, '--expected', expected, '--html', 'status.html'], {
      cwd: dir,
      env: { ...offlineNixEnv(), FLEET_NOW: NOW.toISOString() },
    });
    expect(JSON.parse(result.stdout)).toMatchObject({ 'report-html': 'status.html' });
    const page = await readFile(join(dir, 'status.html'), 'utf8');
    for (const host of ['stage1', 'stage2', 'web1', 'web2', 'clinic-kin']) expect(page).toContain(`data-host="${host}"`);
  });

  it('explains its commands and rejects unknown flags', async () => {
    expect((await fleet(['--help'])).stdout).toContain('fleet deploy');
    expect((await fleet(['deploy', '--help'])).stdout).toContain('--max-concurrency [25%]');
    const unknown = await fleet(['build', '--cahce', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown flag --cahce');
  });
});
