import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSigningKey } from '../../src/cache/signing.js';
import { parseCacheUrl } from '../../src/cache/stores/cache-url.js';
import { ClosurePusher } from '../../src/pipeline/closure-pusher.js';
import { memoryLog } from '../../src/util/log.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNix, runNix, shDerivation, writeFlake } from '../support/nix.js';

/**
 * Pushes one closure after another, as action-build does while the build runs: a path two
 * closures share goes up once, the second push takes it as there, and the merged result counts
 * every path once. Real Nix then substitutes both closures with signatures required.
 */
describe('ClosurePusher', () => {
  const keys = nixKeyPair('cache.pusher-1');
  const nix = offlineNix();
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  const paths: Record<string, string> = {};

  beforeAll(async () => {
    const salt = `${process.pid}-${Date.now()}`;
    const shared = shDerivation(`shared-${salt}`, 'mkdir -p $out && echo shared > $out/data');
    const root = (name: string) => shDerivation(`${name}-${salt}`, 'mkdir -p $out && echo $shared > $out/uses', `shared = ${shared};`);
    flake = await writeFlake({ 'flake.nix': `{ outputs = { self }: { packages.x86_64-linux = { shared = ${shared}; a = ${root('a')}; b = ${root('b')}; }; }; }` });
    for (const name of ['a', 'b', 'shared']) {
      const installable = `${flake.ref}#packages.x86_64-linux.${name}`;
      const built = await runNix(['build', '--no-link', installable]);
      expect(built.code).toBe(0);
      paths[name] = (await runNix(['eval', '--raw', `${installable}.outPath`])).stdout.trim();
    }
  });
  afterAll(async () => {
    await Promise.all([flake?.cleanup(), cleanupFreshStores()]);
  });

  it('pushes a shared path once over two pushes, and says when a closure is whole in the cache', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-pusher-cache-'));
    const cache = `file://${dir}`;
    let credentialsAsked = 0;
    const pusher = new ClosurePusher(
      {
        cache: parseCacheUrl(cache),
        signingKey: parseSigningKey(keys.secret),
        compression: { method: 'zstd' },
        concurrency: 4,
        skipUpstream: [],
        verifyCache: false,
        storeOptions: async () => (credentialsAsked++, {}),
      },
      nix,
      memoryLog(),
    );
    expect(await pusher.push([paths.a as string])).toBe(true);
    expect(pusher.closureLanded(paths.a as string)).toBe(true);
    expect(pusher.closureLanded(paths.b as string)).toBe(false);
    expect(await pusher.push([paths.b as string])).toBe(true);
    // Nothing new: no push at all.
    expect(await pusher.push([paths.shared as string])).toBe(true);
    const { push, infos } = await pusher.result();
    await pusher.close();
    expect(credentialsAsked).toBe(1);
    expect(push.totals).toMatchObject({ paths: 3, pushed: 3, skipped: 0 });
    expect(push.paths.map((p) => p.path).sort()).toEqual([paths.a, paths.b, paths.shared].sort());
    expect(infos.map((i) => i.path).sort()).toEqual([paths.a, paths.b, paths.shared].sort());
    expect((await readdir(dir)).filter((f) => f.endsWith('.narinfo'))).toHaveLength(3);
    const store = await freshStore();
    const copy = await store.copyFrom(cache, [paths.a as string, paths.b as string], { trustedPublicKeys: keys.public, requireSigs: true });
    expect(copy.code).toBe(0);
  });
});
