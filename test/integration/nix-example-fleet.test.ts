import { access, constants, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { exec } from '../../src/util/exec.js';
import { buildExampleFleet, cleanupExampleFleets, EXAMPLE_FLEET_DIR, EXAMPLE_FLEET_HOSTS, toplevelInstallable } from '../support/example-fleet.js';
import { offlineNix, offlineNixEnv } from '../support/nix.js';

const nix = offlineNix();

afterAll(() => cleanupExampleFleets());

describe('example fleet flake', () => {
  it('builds all seven hosts as NixOS-shaped systems', async () => {
    const fleet = await buildExampleFleet();
    expect(Object.keys(fleet.toplevels).sort()).toEqual([...EXAMPLE_FLEET_HOSTS].sort());
    expect(new Set(Object.values(fleet.toplevels)).size).toBe(7);
    const switchScript = await readFile(join(EXAMPLE_FLEET_DIR, 'lib/switch-to-configuration.sh'), 'utf8');
    for (const [host, toplevel] of Object.entries(fleet.toplevels)) {
      expect(toplevel).toMatch(new RegExp(`^/nix/store/[0-9a-z]{32}-nixos-system-${host}-24\\.11\\.20241201\\.[0-9a-f]{7}$`));
      expect(fleet.drvPaths[host]).toMatch(/\.drv$/);
      await access(join(toplevel, 'bin/switch-to-configuration'), constants.X_OK);
      expect(await readFile(join(toplevel, 'bin/switch-to-configuration'), 'utf8')).toBe(switchScript);
      await access(join(toplevel, 'init'), constants.X_OK);
      expect(await readFile(join(toplevel, 'etc/hostname'), 'utf8')).toBe(`${host}\n`);
      expect(await readFile(join(toplevel, 'nixos-version'), 'utf8')).toMatch(/^24\.11\.20241201\.[0-9a-f]{7}$/);
      expect((await stat(join(toplevel, 'kernel'))).size).toBeGreaterThan(500_000);
      expect((await stat(join(toplevel, 'initrd'))).size).toBeGreaterThan(250_000);
      const openssl = await exec(join(toplevel, 'sw/bin/openssl'), []);
      expect(openssl.stdout.trim()).toBe('openssl 3.0.15');
    }
    // One kernel for the whole fleet.
    const kernels = await Promise.all(Object.values(fleet.toplevels).map((t) => realpath(join(t, 'kernel'))));
    expect(new Set(kernels).size).toBe(1);
    expect(kernels[0]).toMatch(/-linux-6\.6\.63\/bzImage$/);
  });

  it('evaluates the config attributes tools read', async () => {
    const fleet = await buildExampleFleet({ hosts: ['web1'] });
    expect((await nix.evalAttrNames(fleet.flakeRef, 'nixosConfigurations')).sort()).toEqual([...EXAMPLE_FLEET_HOSTS].sort());
    expect(await nix.eval(`${fleet.flakeRef}#nixosConfigurations.clinic-kin.config.networking.hostName`)).toBe('clinic-kin');
    expect(await nix.eval(`${fleet.flakeRef}#nixosConfigurations.db1.config.system.nixos.release`)).toBe('24.11');
  });

  it('has closures with depth, shared packages and some unique bytes per host', async () => {
    const fleet = await buildExampleFleet({ hosts: ['web1', 'web2', 'db1'] });
    const web1 = await nix.pathInfo([fleet.toplevels.web1 as string], { recursive: true });
    const web2 = await nix.pathInfo([fleet.toplevels.web2 as string], { recursive: true });
    const db1 = await nix.pathInfo([fleet.toplevels.db1 as string], { recursive: true });
    const names = (infos: typeof web1) => infos.map((i) => i.path.slice(44));
    expect(names(web1)).toEqual(expect.arrayContaining(['openssl-3.0.15', 'nginx-1.26.2', 'glibc-locales-2.40-36', 'linux-6.6.63', 'site-web1-1']));
    expect(names(db1)).toEqual(expect.arrayContaining(['postgresql-16.4', 'tzdata-2024b']));
    expect(names(db1)).not.toContain('nginx-1.26.2');
    const locales = web1.find((i) => i.path.endsWith('-glibc-locales-2.40-36'));
    expect(locales?.narSize).toBeGreaterThan(4_000_000);
    const web2Paths = new Set(web2.map((i) => i.path));
    const unique = web1.filter((i) => !web2Paths.has(i.path));
    const uniqueBytes = unique.reduce((sum, i) => sum + i.narSize, 0);
    expect(uniqueBytes).toBeGreaterThan(200_000);
    expect(uniqueBytes).toBeLessThan(1_000_000);
    // nginx references openssl: the closure has depth.
    const nginx = web1.find((i) => i.path.endsWith('-nginx-1.26.2'));
    expect(nginx?.references.some((r) => r.endsWith('-openssl-3.0.15'))).toBe(true);
  });

  it('gives every host a new system for a new variant, sharing the unchanged packages', async () => {
    const one = await buildExampleFleet();
    const two = await buildExampleFleet({ variant: '2' });
    expect(two.flakeDir).not.toBe(one.flakeDir);
    for (const host of EXAMPLE_FLEET_HOSTS) {
      expect(two.toplevels[host]).not.toBe(one.toplevels[host]);
      expect(await readFile(join(two.toplevels[host] as string, 'nixos-version'), 'utf8')).not.toBe(
        await readFile(join(one.toplevels[host] as string, 'nixos-version'), 'utf8'),
      );
      expect(await realpath(join(two.toplevels[host] as string, 'sw/bin/openssl'))).toBe(await realpath(join(one.toplevels[host] as string, 'sw/bin/openssl')));
    }
    const closure = await nix.pathInfo([two.toplevels.web1 as string], { recursive: true });
    expect(closure.some((i) => i.path.endsWith('-site-web1-2'))).toBe(true);
    // Variants never touch the repository's own copy.
    expect((await readFile(join(EXAMPLE_FLEET_DIR, 'variant.txt'), 'utf8')).trim()).toBe('1');
  });

  it('caches builds per variant and rejects unknown hosts', async () => {
    const first = await buildExampleFleet({ variant: '2', hosts: ['gateway'] });
    const again = await buildExampleFleet({ variant: '2', hosts: ['gateway'] });
    expect(again).toEqual(first);
    await expect(buildExampleFleet({ variant: '2', hosts: ['nope'] })).rejects.toThrow(/does not provide attribute|did not build/);
  });

  it('accepts variants that are not store-name safe', async () => {
    const odd = await buildExampleFleet({ variant: 'next gen/3', hosts: ['monitor'] });
    expect(odd.toplevels.monitor).toMatch(/-nixos-system-monitor-24\.11\.20241201\.[0-9a-f]{7}$/);
    expect(await readFile(join(odd.toplevels.monitor as string, 'etc/site.conf'), 'utf8')).toContain('variant=next gen/3');
  });

  it('has passing stand-in VM tests', async () => {
    const fleet = await buildExampleFleet();
    const checks = await nix.evalAttrNames(fleet.flakeRef, 'checks.x86_64-linux');
    expect(checks.sort()).toEqual(['boot', 'clinic-links', 'web-serves-pages']);
    const outcomes = await nix.build(checks.map((c) => `${fleet.flakeRef}#checks.x86_64-linux.${c}`));
    for (const outcome of outcomes) {
      if (!outcome.ok) throw new Error(outcome.error);
      expect(await readFile(join(outcome.outputs.out as string, 'result'), 'utf8')).toMatch(/: passed\n$/);
    }
    const boot = outcomes.find((o) => o.installable.endsWith('.boot'));
    expect(boot?.ok && (await readFile(join(boot.outputs.out as string, 'result'), 'utf8')).split('\n').filter(Boolean)).toHaveLength(7);
  });

  it('builds with the plain nix CLI as the README says', async () => {
    const fleet = await buildExampleFleet({ hosts: ['web2'] });
    const result = await exec('nix', ['build', '--json', '--no-link', toplevelInstallable(fleet.flakeRef, 'web2')], { env: offlineNixEnv() });
    expect(JSON.parse(result.stdout)[0].outputs.out).toBe(fleet.toplevels.web2);
  });
});

describe('example fleet inventory (fleet.yaml)', () => {
  const inventory = async () => parse(await readFile(join(EXAMPLE_FLEET_DIR, 'fleet.yaml'), 'utf8')) as {
    environments: Record<string, { 'allowed-refs': string[]; protected?: boolean }>;
    waves: Record<string, { order: number; soak: string; quorum: string; channel: string }>;
    holds: unknown[];
    defaults: { deploy: Record<string, unknown> };
    hosts: Record<string, { attribute: string; environment: string; wave: string; tags: string[]; deploy: Record<string, unknown> }>;
  };

  it('describes environments and waves', async () => {
    const inv = await inventory();
    expect(inv.environments.staging?.['allowed-refs']).toEqual(['refs/heads/staging', 'refs/heads/main', 'refs/pull/**']);
    expect(inv.environments.production).toEqual({ 'allowed-refs': ['refs/heads/main', 'refs/tags/v*'], protected: true });
    expect(inv.waves).toEqual({
      first: { order: 1, soak: '1h', quorum: '100%', channel: 'nixos-24.11' },
      middle: { order: 2, soak: '24h', quorum: '80%', channel: 'nixos-24.11' },
      final: { order: 3, soak: '24h', quorum: '75%', channel: 'nixos-24.11' },
    });
    expect(inv.holds).toEqual([]);
    expect(inv.defaults.deploy).toEqual({ method: 'ssh', user: 'root', port: 22 });
  });

  it('lists every flake host with a valid environment, wave and target', async () => {
    const inv = await inventory();
    expect(Object.keys(inv.hosts).sort()).toEqual([...EXAMPLE_FLEET_HOSTS].sort());
    for (const [name, host] of Object.entries(inv.hosts)) {
      expect(host.attribute).toBe(name);
      expect(Object.keys(inv.environments)).toContain(host.environment);
      expect(Object.keys(inv.waves)).toContain(host.wave);
      expect(host.tags.length).toBeGreaterThan(0);
      expect(['ssh', 'pull']).toContain(host.deploy.method);
      if (host.deploy.method === 'ssh') expect(host.deploy).toMatchObject({ host: `${name}.example.org`, port: 22, user: 'root' });
    }
    expect(inv.hosts['clinic-kin']?.deploy).toEqual({ method: 'pull' });
    expect(inv.hosts.web1?.deploy.jump).toBe('relay.example.org');
    expect(Object.values(inv.waves).map((w) => Object.values(inv.hosts).filter((h) => h.wave === Object.keys(inv.waves)[w.order - 1]).length)).toEqual([2, 2, 3]);
  });
});
