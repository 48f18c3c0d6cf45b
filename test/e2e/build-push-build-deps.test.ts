import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, runNix, shDerivation, writeFlake } from '../support/nix.js';

/**
 * `push-build-deps`: a package whose build reads a tool's output without keeping a reference to it.
 * By default only the runtime closure reaches the cache; with the input, the tool does too, signed,
 * so another runner substitutes it instead of building it.
 */
describe('action-build bundle: push-build-deps', () => {
  const keys = nixKeyPair('cache.build-deps-1');
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  let tool: string;
  let runtimeDep: string;
  let app: string;

  beforeAll(async () => {
    const salt = `${process.pid}-${Date.now()}`;
    const toolDrv = shDerivation(`build-tool-${salt}`, 'mkdir -p $out && echo generated-by-the-tool > $out/template');
    const libDrv = shDerivation(`runtime-lib-${salt}`, 'mkdir -p $out && echo lib > $out/lib');
    // The app copies the tool's template (the bytes, not the path) and links the lib (a reference).
    const appDrv = shDerivation(`app-${salt}`, 'mkdir -p $out && cat $tool/template > $out/template && echo $lib > $out/uses', 'tool = ' + toolDrv + '; lib = ' + libDrv + ';');
    flake = await writeFlake({
      'flake.nix': `{ outputs = { self }: { packages.x86_64-linux.default = ${appDrv}; packages.x86_64-linux.tool = ${toolDrv}; packages.x86_64-linux.lib = ${libDrv}; }; }`,
    });
    const paths = await Promise.all(['tool', 'lib'].map(async (name) => (await runNix(['eval', '--raw', `${flake.ref}#packages.x86_64-linux.${name}.outPath`])).stdout.trim()));
    [tool, runtimeDep] = paths as [string, string];
  });
  afterAll(async () => {
    await Promise.all([flake?.cleanup(), cleanupFreshStores()]);
  });

  const build = async (extra: Record<string, string>) => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'fleet-build-deps-cache-'));
    const result = await runAction('action-build', {
      inputs: { installables: `${flake.ref}#packages.x86_64-linux.default`, cache: `file://${cacheDir}`, 'signing-key': keys.secret, ...extra },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });
    return { result, cache: `file://${cacheDir}`, cacheDir };
  };
  const inCache = async (cache: string, path: string) => (await runNix(['path-info', '--store', cache, path])).code === 0;

  it('pushes only the runtime closure by default', async () => {
    const { result, cache } = await build({});
    expect(result.exitCode).toBe(0);
    app = (JSON.parse(result.outputs['store-paths'] as string) as Record<string, string>)[`${flake.ref}#packages.x86_64-linux.default`] as string;
    expect(await inCache(cache, app)).toBe(true);
    expect(await inCache(cache, runtimeDep)).toBe(true);
    expect(await inCache(cache, tool)).toBe(false);
    expect(result.summary).not.toContain('push-build-deps');
  });

  it('with push-build-deps, also pushes what the build used, signed, for real Nix to substitute', async () => {
    const { result, cache, cacheDir } = await build({ 'push-build-deps': 'true' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/push-build-deps: also pushing the \d+ paths the builds used/);
    expect(result.summary).toContain('(`push-build-deps`)');
    expect(await inCache(cache, tool)).toBe(true);
    // No .drv file is pushed: a cache serves outputs.
    const narinfos = (await readdir(cacheDir)).filter((f) => f.endsWith('.narinfo'));
    const storePaths = await Promise.all(narinfos.map(async (f) => /^StorePath: (.*)$/m.exec(await readFile(join(cacheDir, f), 'utf8'))?.[1] ?? ''));
    expect(storePaths).toContain(tool);
    expect(storePaths.filter((p) => p.endsWith('.drv'))).toEqual([]);
    const store = await freshStore();
    const copy = await store.copyFrom(cache, [tool, app], { trustedPublicKeys: keys.public, requireSigs: true });
    expect(copy.stderr).not.toMatch(/error/);
    expect(copy.code).toBe(0);
    expect(await store.has(tool)).toBe(true);
  });
});
