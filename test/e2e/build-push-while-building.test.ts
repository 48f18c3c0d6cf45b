import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, shDerivation, writeFlake } from '../support/nix.js';

interface Manifest {
  targets: { name: string; inCacheAfterMs?: number }[];
  totals: { buildMs: number; pushed: number };
}

/**
 * Pushing while the build runs: one package builds at once, the other takes seconds. On a push
 * event the quick one's closure is in the cache before the build is over; on a pull request
 * nothing is pushed (no credential exists) until the build is over. Either way both land, once.
 */
describe('action-build bundle: pushing each closure as soon as it is built', () => {
  const keys = nixKeyPair('cache.early-1');
  afterAll(() => cleanupFreshStores());

  /** A fresh pair of packages (new names, so they build again) and a fresh cache. */
  const build = async (event?: object) => {
    const salt = `${process.pid}-${Date.now()}`;
    const quick = shDerivation(`quick-${salt}`, 'mkdir -p $out && echo quick > $out/done');
    const slow = shDerivation(`slow-${salt}`, 'sleep 8 && mkdir -p $out && echo slow > $out/done');
    const fl = await writeFlake({ 'flake.nix': `{ outputs = { self }: { packages.x86_64-linux = { quick = ${quick}; slow = ${slow}; }; }; }` });
    const cacheDir = await mkdtemp(join(tmpdir(), 'fleet-early-cache-'));
    const installables = { quick: `${fl.ref}#packages.x86_64-linux.quick`, slow: `${fl.ref}#packages.x86_64-linux.slow` };
    const result = await runAction('action-build', {
      inputs: { installables: `${installables.quick}\n${installables.slow}`, cache: `file://${cacheDir}`, 'signing-key': keys.secret },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
      ...(event ? { event } : {}),
    });
    const manifest = JSON.parse(await readFile(result.outputs.manifest as string, 'utf8')) as Manifest;
    const after = (name: string) => manifest.targets.find((t) => t.name === name)?.inCacheAfterMs;
    return { result, manifest, cache: `file://${cacheDir}`, quickAfter: after(installables.quick), slowAfter: after(installables.slow), installables, cleanup: fl.cleanup };
  };

  it('on a push, has the quick closure in the cache while the slow one still builds, and reports when each landed', async () => {
    const run = await build();
    try {
      expect(run.result.exitCode).toBe(0);
      expect(run.result.stdout).toContain('each host as soon as it is built');
      expect(run.quickAfter).toBeDefined();
      expect(run.slowAfter).toBeDefined();
      // The quick one landed before the build was over; the slow one after it.
      expect(run.quickAfter as number).toBeLessThan(run.manifest.totals.buildMs);
      expect(run.slowAfter as number).toBeGreaterThanOrEqual(run.manifest.totals.buildMs);
      expect(run.result.stdout).toMatch(new RegExp(`${run.installables.quick.replace(/[.#]/g, '\\$&')} is in the cache \\(\\d`));
      expect(run.result.summary).toContain('<th>In cache</th>');
      expect(run.result.summary).toMatch(/<td>after \d/);
      // Each path is pushed once, and real Nix substitutes both closures with signatures required.
      expect(run.manifest.totals.pushed).toBe(2);
      const outs = Object.values(JSON.parse(run.result.outputs['store-paths'] as string) as Record<string, string>);
      const store = await freshStore();
      const copy = await store.copyFrom(run.cache, outs, { trustedPublicKeys: keys.public, requireSigs: true });
      expect(copy.code).toBe(0);
    } finally {
      await run.cleanup();
    }
  });

  it('on a pull request, pushes nothing until the build is over', async () => {
    const run = await build({ pull_request: { number: 7, head: { repo: { fork: false, full_name: 'acme/fleet' } } }, repository: { full_name: 'acme/fleet' } });
    try {
      expect(run.result.exitCode).toBe(0);
      expect(run.result.stdout).toContain('a pull request: pushing to');
      expect(run.result.stdout).not.toMatch(/is in the cache \(/);
      expect(run.quickAfter as number).toBeGreaterThanOrEqual(run.manifest.totals.buildMs);
      expect(run.slowAfter as number).toBeGreaterThanOrEqual(run.manifest.totals.buildMs);
      expect(run.manifest.totals.pushed).toBe(2);
    } finally {
      await run.cleanup();
    }
  });
});
