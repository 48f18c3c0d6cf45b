import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyExampleFleet } from '../support/example-fleet.js';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv } from '../support/nix.js';
import { startFaultProxy, startNginxCache, type FaultProxy, type NginxCacheHandle } from '../support/servers/index.js';

/** Every narinfo in the cache points at a NAR that is there: what a reader relies on. */
async function danglingNarInfos(root: string): Promise<string[]> {
  const names = await readdir(root);
  const nars = new Set(await readdir(join(root, 'nar')).catch(() => [] as string[]));
  const dangling: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.narinfo'))) {
    const url = /^URL: nar\/(.+)$/m.exec(await readFile(join(root, name), 'utf8'))?.[1];
    if (!url || !nars.has(url)) dangling.push(name);
  }
  return dangling;
}

describe('action-build bundle against a faulty cache', () => {
  let nginx: NginxCacheHandle;
  let proxy: FaultProxy;
  let flake: string;
  const keys = nixKeyPair();

  beforeAll(async () => {
    [nginx, flake] = await Promise.all([startNginxCache(), copyExampleFleet('cache-faults')]);
    proxy = await startFaultProxy(nginx.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([nginx?.stop(), cleanupFreshStores()]);
  });

  const build = () =>
    runAction('action-build', {
      inputs: { flake: `path:${flake}`, cache: proxy.url, 'signing-key': keys.secret, concurrency: '8' },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });

  it('fails cleanly when uploads are cut mid-NAR: no narinfo points at a missing NAR', async () => {
    proxy.configure({ failRate: 1, cutAfterBytes: 64 * 1024, methods: ['PUT'], path: /\/nar\//, seed: 7 });
    const cut = await build();
    expect(cut.exitCode).toBe(1);
    expect(cut.annotations.at(-1)?.message).toMatch(/paths were not pushed \(re-run to finish; no narinfo points at a missing NAR\)/);
    expect(proxy.stats.injected.cut).toBeGreaterThan(0);
    expect(await danglingNarInfos(nginx.root)).toEqual([]);
  });

  it('lands every path through 503s and SlowDowns on a third of the requests, on a re-run', async () => {
    proxy.configure({ failRate: 0.33, s3SlowDown: true, seed: 11 });
    const rerun = await build();
    expect(rerun.exitCode).toBe(0);
    expect(proxy.stats.injected.slowDown).toBeGreaterThan(0);
    expect(await danglingNarInfos(nginx.root)).toEqual([]);
    const storePaths = JSON.parse(rerun.outputs['store-paths'] as string) as Record<string, string>;
    const store = await freshStore();
    expect((await store.copyFrom(nginx.url, Object.values(storePaths), { trustedPublicKeys: keys.public })).code).toBe(0);
  });

  it('pushes nothing the next time', async () => {
    proxy.configure({});
    const again = await build();
    expect(again.exitCode).toBe(0);
    expect(again.outputs['pushed-paths']).toBe('0');
  });
});
