import { arch } from 'node:os';
import { parseMachines } from '../../src/nix/machines.js';
import { resolveBuildSystems } from '../../src/pipeline/build-systems.js';
import { aSystem } from '../../src/nix/errors.js';
import { offlineNix } from '../support/nix.js';

/** What one build job can build, as the real Nix of each lane reports it. */
describe('build systems from the runner\'s Nix', () => {
  const nix = offlineNix();
  const native = `${arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux`;
  const foreign = native === 'x86_64-linux' ? 'aarch64-linux' : 'x86_64-linux';

  it('reads the runner\'s system and extra platforms from nix config', async () => {
    const platforms = await nix.platforms();
    expect(platforms.system).toBe(native);
    expect(Array.isArray(platforms.extraPlatforms)).toBe(true);
    expect(platforms.extraPlatforms).not.toContain(foreign);
  });

  it('builds its own system by default, with no builder options', async () => {
    const systems = await resolveBuildSystems(nix, undefined, []);
    expect(systems.system).toBe(native);
    expect(systems.all.has(native)).toBe(true);
    expect(systems.all.has(foreign)).toBe(false);
    expect(systems.nixOptions).toEqual({});
  });

  it('refuses a system this runner cannot build, saying how to get it built', async () => {
    await expect(resolveBuildSystems(nix, foreign, [])).rejects.toThrow(
      `this runner builds ${native}`,
    );
    await expect(resolveBuildSystems(nix, foreign, [])).rejects.toThrow(`run this job on ${aSystem(foreign)} runner, or give builders with ${aSystem(foreign)} machine`);
  });

  it('builds another system through builders, and Nix takes them as its builders setting', async () => {
    const machines = parseMachines(`ssh-ng://builder@arm1.example.org ${foreign} - 4 # rack 2\nssh://arm2.example.org ${foreign}`);
    const systems = await resolveBuildSystems(nix, foreign, machines);
    expect(systems.system).toBe(foreign);
    expect([...systems.all]).toEqual([foreign]);
    expect(systems.nixOptions['builders-use-substitutes']).toBe('true');
    const seen = await nix.withOptions(systems.nixOptions).platforms();
    expect(seen.builders).toBe(`ssh-ng://builder@arm1.example.org ${foreign} - 4 ; ssh://arm2.example.org ${foreign}`);
  });
});
