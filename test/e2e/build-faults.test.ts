import { randomUUID } from 'node:crypto';
import { runAction, type ActionResult } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNixEnv, shDerivation, writeFlake } from '../support/nix.js';
import { startNginxCache, type NginxCacheHandle } from '../support/servers/index.js';

// One nonce per run so the failing build is attempted for real, not answered from an earlier run.
const nonce = randomUUID().slice(0, 8);
const system = (name: string, script: string) => `${name} = { config.system.build.toplevel = ${shDerivation(`nixos-system-${name}-${nonce}`, script)}; };`;
const flakeNix = `{
  outputs = { self }: {
    nixosConfigurations = {
      ${system('ok1', 'mkdir -p $out/bin; echo ok1 > $out/nixos-version')}
      ${system('ok2', 'mkdir -p $out/bin; echo ok2 > $out/nixos-version')}
      ${system('broken', 'echo "activation script missing: /etc/fstab" >&2; exit 3')}
    };
    checks.x86_64-linux = {
      vm-boots = ${shDerivation(`vm-boots-${nonce}`, 'echo "machine # booted" > $out')};
      vm-web = ${shDerivation(`vm-web-${nonce}`, 'echo "machine # kernel panic: VFS unable to mount root" >&2; exit 1')};
      lint = ${shDerivation(`lint-${nonce}`, 'exit 1')};
    };
  };
}`;

describe('action-build bundle: failed hosts and VM tests are reported, the rest is pushed', () => {
  let nginx: NginxCacheHandle;
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  let result: ActionResult;
  const keys = nixKeyPair();

  beforeAll(async () => {
    [nginx, flake] = await Promise.all([startNginxCache(), writeFlake({ 'flake.nix': flakeNix })]);
    result = await runAction('action-build', {
      inputs: { flake: flake.ref, checks: 'vm-*', cache: nginx.url, 'signing-key': keys.secret, 'nix-eval-cache': 'true' },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });
  });
  afterAll(async () => {
    await Promise.all([nginx?.stop(), flake?.cleanup(), cleanupFreshStores()]);
  });

  it('fails the step after all builds, naming the failed host and VM test', () => {
    expect(result.exitCode).toBe(1);
    const failure = result.annotations.filter((a) => a.level === 'error').at(-1)?.message ?? '';
    expect(failure).toContain('failed to build: broken');
    expect(failure).toContain('VM tests failed: vm-web');
    expect(failure).not.toContain('ok1');
  });

  it('annotates each failure and shows the failed test log in a group', () => {
    const errors = result.annotations.filter((a) => a.level === 'error').map((a) => a.message);
    expect(errors.some((m) => m.startsWith('broken:') && m.includes('exit'))).toBe(true);
    expect(errors.some((m) => m.startsWith('check vm-web failed'))).toBe(true);
    expect(result.stdout).toContain('::group::nix log of failed check vm-web');
    expect(result.stdout).toContain('kernel panic: VFS unable to mount root');
  });

  it('evaluates without the Nix evaluation cache when the Actions cache service is absent, saying so', () => {
    expect(result.annotations).toContainEqual({ level: 'warning', message: expect.stringContaining('nix-eval-cache: the Actions cache service is not available') });
  });

  it('reports the hosts and tests that worked, and only the matching tests ran', () => {
    const storePaths = JSON.parse(result.outputs['store-paths'] as string) as Record<string, string>;
    expect(Object.keys(storePaths).sort()).toEqual(['ok1', 'ok2']);
    const checks = JSON.parse(result.outputs.checks as string) as { name: string; outcome: string }[];
    expect(checks.map((c) => [c.name, c.outcome]).sort()).toEqual([
      ['vm-boots', 'passed'],
      ['vm-web', 'failed'],
    ]);
    expect(result.summary).toContain('NixOS VM tests');
    expect(result.summary).toMatch(/<td>broken<\/td><td>—<\/td><td>❌ build failed<\/td><td>—<\/td>/);
  });

  it('pushed the good hosts and the passing test result, readable by Nix with signatures', async () => {
    const storePaths = JSON.parse(result.outputs['store-paths'] as string) as Record<string, string>;
    const checks = JSON.parse(result.outputs.checks as string) as { name: string; outPath?: string }[];
    const passed = checks.find((c) => c.name === 'vm-boots')?.outPath as string;
    const store = await freshStore();
    const copy = await store.copyFrom(nginx.url, [...Object.values(storePaths), passed], { trustedPublicKeys: keys.public });
    expect(copy.code).toBe(0);
    expect(await store.has(passed)).toBe(true);
  });
});
