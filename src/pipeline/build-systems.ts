import type { Nix } from '../nix/index.js';
import { aSystem } from '../nix/errors.js';
import type { BuildMachine } from '../nix/machines.js';
import { UserError } from '../util/errors.js';

/** The systems one build job can build, and how (for messages). */
export interface BuildSystems {
  /** The job's own system: its VM tests are `checks.<system>.*`. */
  system: string;
  /** Every system the job builds: its own, extra-platforms of the runner, the builders'. */
  all: ReadonlySet<string>;
  /** `builders` given to this job, as Nix options; empty without. */
  nixOptions: Record<string, string>;
}

/**
 * Works out what this job can build from the runner's Nix and the `builders` input. A `system`
 * input the runner cannot build (not its own, not an extra platform, no builder for it) is an
 * error with the fix, before anything is evaluated.
 */
export async function resolveBuildSystems(nix: Nix, wanted: string | undefined, machines: readonly BuildMachine[]): Promise<BuildSystems> {
  const platforms = await nix.platforms();
  const remote = machines.flatMap((m) => m.systems);
  const local = [platforms.system, ...platforms.extraPlatforms];
  const system = wanted ?? platforms.system;
  const all = new Set([system, ...(local.includes(system) ? local : []), ...remote]);
  if (!local.includes(system) && !remote.includes(system)) {
    throw new UserError(
      `this runner builds ${platforms.system}${platforms.extraPlatforms.length > 0 ? ` (and ${platforms.extraPlatforms.join(', ')})` : ''}, not ${system}: ` +
        `run this job on ${aSystem(system)} runner, or give builders with ${aSystem(system)} machine (builders: ssh-ng://builder@${system.split('-')[0]}.example.org ${system})`,
    );
  }
  return { system, all, nixOptions: machines.length > 0 ? { builders: machines.map((m) => m.line).join(' ; '), 'builders-use-substitutes': 'true' } : {} };
}
