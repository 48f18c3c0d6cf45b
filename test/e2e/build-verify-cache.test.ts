import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprint, narInfoKey, parseNarInfo, renderNarInfo } from '../../src/cache/narinfo.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { copyExampleFleet } from '../support/example-fleet.js';
import { repoRoot, runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv } from '../support/nix.js';

interface Manifest {
  verifiedCache: boolean;
  paths: { path: string; narSize: number; status: string; repair?: { reason: string; label: string; detail: string } }[];
  totals: { repaired: number; skipped: number; pushed: number };
}

/**
 * verify-cache through the committed bundle and the command line: a cache pushed by action-build
 * loses a NAR and has a narinfo replaced by one another key signed; only a run with verify-cache
 * makes it serve the host again.
 */
describe('action-build bundle with verify-cache', () => {
  const keys = nixKeyPair('fleet-e2e-1');
  const otherKey = parseSigningKey(nixKeyPair('elsewhere-1').secret);
  let work: string;
  let flake: string;
  let pristine: string;
  let toplevel: string;
  let damaged: { gone: string; foreign: string };

  const build = (cache: string, inputs: Record<string, string> = {}) =>
    runAction('action-build', {
      inputs: { flake: `path:${flake}`, inventory: join(flake, 'fleet.yaml'), hosts: 'web1', cache: `file://${cache}`, 'signing-key': keys.secret, ...inputs },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });

  /** A copy of the pushed cache with the biggest path's NAR deleted and the toplevel's narinfo signed by another key only. */
  async function damagedCopy(name: string): Promise<string> {
    const cache = join(work, name);
    await cp(pristine, cache, { recursive: true });
    const goneInfo = parseNarInfo(await readFile(join(cache, narInfoKey(damaged.gone)), 'utf8'));
    await rm(join(cache, goneInfo.url));
    const top = parseNarInfo(await readFile(join(cache, narInfoKey(damaged.foreign)), 'utf8'));
    await writeFile(join(cache, narInfoKey(damaged.foreign)), renderNarInfo({ ...top, sigs: [otherKey.sign(fingerprint(top))] }));
    return cache;
  }

  const copyHost = async (cache: string) => (await freshStore()).copyFrom(`file://${cache}`, [toplevel], { trustedPublicKeys: keys.public, requireSigs: true });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-e2e-verify-'));
    flake = await copyExampleFleet('verify-cache');
    pristine = join(work, 'pristine');
    const first = await build(pristine);
    expect(first.exitCode).toBe(0);
    toplevel = (JSON.parse(first.outputs['store-paths'] as string) as Record<string, string>).web1 as string;
    const manifest = JSON.parse(await readFile(first.outputs.manifest as string, 'utf8')) as Manifest;
    const biggest = [...manifest.paths].sort((a, b) => b.narSize - a.narSize)[0]?.path as string;
    expect(biggest).not.toBe(toplevel);
    damaged = { gone: biggest, foreign: toplevel };
  });
  afterAll(async () => {
    await cleanupFreshStores();
    await rm(work, { recursive: true, force: true });
  });

  it('leaves a damaged cache as it is without verify-cache, and hints at it in the summary', async () => {
    const cache = await damagedCopy('unverified');
    const run = await build(cache);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['repaired-paths']).toBe('0');
    expect(run.outputs['pushed-paths']).toBe('0');
    expect(run.summary).toContain('`verify-cache: true` checks that each has its NAR and our signature');
    expect(run.summary).not.toContain('<th>Repaired</th>');
    expect((await copyHost(cache)).code).not.toBe(0);
  });

  it('repairs it with verify-cache: outputs, manifest and summary name each repaired path, and Nix substitutes the host again', async () => {
    const cache = await damagedCopy('verified');
    const run = await build(cache, { 'verify-cache': 'true' });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.outputs['repaired-paths']).toBe('2');
    expect(run.outputs['pushed-paths']).toBe('0');

    const manifest = JSON.parse(await readFile(run.outputs.manifest as string, 'utf8')) as Manifest;
    expect(manifest.verifiedCache).toBe(true);
    expect(manifest.paths.filter((p) => p.status === 'repaired').map((p) => [p.path, p.repair?.label]).sort()).toEqual(
      [
        [damaged.gone, 'NAR missing, re-pushed'],
        [damaged.foreign, 're-signed'],
      ].sort(),
    );

    expect(run.summary).toContain('<th>Repaired</th>');
    expect(run.summary).toMatch(/<td>web1<\/td>(?:<td>[^<]*<\/td>){5}<td>2<\/td>/);
    expect(run.summary).toMatch(/: 0 pushed and 2 repaired \([^)]*\), \d+ already cached, 0 failed\./);
    expect(run.summary).toContain('2 broken cache entries repaired');
    expect(run.summary).toContain(`\`${damaged.gone}\`: NAR missing, re-pushed (nar/`);
    expect(run.summary).toContain(`\`${damaged.foreign}\`: re-signed (no valid signature by fleet-e2e-1 (signed by elsewhere-1))`);
    expect(run.stdout).toContain('verify-cache: checking that every narinfo already in the cache has its NAR and a valid signature by fleet-e2e-1');

    const copy = await copyHost(cache);
    expect({ code: copy.code, stderr: copy.code === 0 ? '' : copy.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('is a flag of fleet build on the command line', async () => {
    const cache = await damagedCopy('cli');
    const { stdout } = await promisify(execFile)(
      join(repoRoot, 'bin', 'fleet'),
      ['build', '--flake', `path:${flake}`, '--inventory', join(flake, 'fleet.yaml'), '--hosts', 'web1', '--cache', `file://${cache}`, '--verify-cache'],
      { env: { ...offlineNixEnv(), FLEET_SIGNING_KEY: keys.secret }, maxBuffer: 1 << 24 },
    );
    expect((JSON.parse(stdout) as Record<string, unknown>)['repaired-paths']).toBe('2');
    expect((await copyHost(cache)).code).toBe(0);
  });
});
