import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { collectGarbage } from '../../src/gc/collect.js';
import { BUILDS_PREFIX } from '../../src/gc/records.js';
import { memoryLog } from '../../src/util/log.js';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, runNix, shDerivation, writeFlake } from '../support/nix.js';

const HOUR = 3_600_000;

/**
 * action-build and the cache's garbage collection, through the bundle: each build is recorded for
 * keep-builds, and a build of a system the collection has condemned pushes it again instead of
 * trusting the narinfos it finds, so a collection that planned before the build cannot delete it.
 */
describe('action-build bundle with the cache garbage collection', () => {
  const keys = nixKeyPair('cache.build-gc-1');
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  let cacheDir: string;
  let store: OpenedStore;
  const built: Record<string, string> = {};

  beforeAll(async () => {
    const salt = `${process.pid}-${Date.now()}`;
    const lib = shDerivation(`gc-lib-${salt}`, 'mkdir -p $out && echo lib > $out/lib');
    const app = (version: string) => shDerivation(`gc-app-${version}-${salt}`, `mkdir -p $out && echo ${version} $lib > $out/version`, `lib = ${lib};`);
    flake = await writeFlake({ 'flake.nix': `{ outputs = { self }: { packages.x86_64-linux.v1 = ${app('v1')}; packages.x86_64-linux.v2 = ${app('v2')}; }; }` });
    cacheDir = await mkdtemp(join(tmpdir(), 'fleet-build-gc-cache-'));
    store = openStore(`file://${cacheDir}`);
  });
  afterAll(async () => {
    await store?.close();
    await Promise.all([flake?.cleanup(), cleanupFreshStores(), cacheDir ? rm(cacheDir, { recursive: true, force: true }) : undefined]);
  });

  const build = async (version: string, sha: string) => {
    const installable = `${flake.ref}#packages.x86_64-linux.${version}`;
    const result = await runAction('action-build', {
      inputs: { installables: installable, cache: `file://${cacheDir}`, 'signing-key': keys.secret },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string, GITHUB_SHA: sha.repeat(40) },
    });
    expect(result.exitCode).toBe(0);
    built[version] = (JSON.parse(result.outputs['store-paths'] as string) as Record<string, string>)[installable] as string;
    return result;
  };
  const collectAt = (hoursLater: number, beforeSweep?: () => Promise<void>) =>
    collectGarbage({ store, keepBuilds: 1, keepGenerations: 0, pinned: [], minAgeMs: HOUR, dryRun: false, log: memoryLog(), now: () => new Date(Date.now() + hoursLater * HOUR), ...(beforeSweep ? { beforeSweep } : {}) });
  const substitutes = async (path: string) => (await (await freshStore()).copyFrom(`file://${cacheDir}`, [path], { trustedPublicKeys: keys.public, requireSigs: true })).code === 0;

  it('records each build in the cache under its ref', async () => {
    const first = await build('v1', 'a');
    expect(first.stdout).toMatch(/recorded this build as fleet\/builds\/refs%2Fheads%2Fmain\/\d{8}T\d{6}Z-aaaaaaaaaaaa\.json/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await build('v2', 'b');
    expect(await readdir(join(cacheDir, BUILDS_PREFIX, 'refs%2Fheads%2Fmain'))).toHaveLength(2);
  });

  it('pushes a condemned system again when a build needs it, so the collection racing that build deletes none of it', async () => {
    // keep-builds 1: v1's app is unreachable once v2 is built, and condemned.
    const condemning = await collectAt(2);
    expect(condemning.condemned.narinfos).toBe(1);
    const v1 = built.v1 as string;

    // A revert to v1 builds while the next collection plans its deletions.
    let rebuild: Awaited<ReturnType<typeof build>> | undefined;
    const racing = await collectAt(4, async () => {
      rebuild = await build('v1', 'c');
    });
    expect(rebuild?.stdout).toContain('condemned by its garbage collection: closures that need them push them again');
    expect(racing.spared).toBeGreaterThanOrEqual(1);
    expect(racing.deletedPaths).not.toContain(v1);
    expect(await substitutes(v1)).toBe(true);
    expect((await runNix(['path-info', '--store', `file://${cacheDir}`, v1])).code).toBe(0);
  });
});
