import { planBuildLegs } from '../../src/pipeline/build-plan.js';
import { resolveTargets } from '../../src/pipeline/targets.js';
import type { Inventory } from '../../src/fleet/index.js';
import type { Nix } from '../../src/nix/index.js';
import { actionLog, JobSummary, setOutputs } from '../../src/runner/index.js';
import { UserError } from '../../src/util/errors.js';
import type { BuildInputs } from './inputs.js';

/**
 * `plan: true`: which build jobs to run, one per system and shard, each on its system's runner.
 * Evaluates only the host list; builds nothing and reads no credential.
 */
export async function planBuild(inputs: BuildInputs, inventory: Inventory | undefined, nix: Nix): Promise<void> {
  if (inputs.installables.length > 0) throw new UserError('plan splits hosts into build jobs; installables are built by one job without plan');
  const { targets } = await resolveTargets({ flake: inputs.flake, hosts: inputs.hosts, installables: [], ...(inventory ? { inventory } : {}) }, nix);
  // Without an inventory the flake's hosts have no system of their own: they are the system input's, or this runner's.
  const defaultSystem = inputs.system ?? (await nix.platforms()).system;
  const legs = planBuildLegs(targets, { shards: inputs.shards, runners: inputs.runners, defaultSystem });
  for (const leg of legs) actionLog.info(`${leg.system} on ${[leg['runs-on']].flat().join(', ')}: ${leg.hosts}`);
  setOutputs({ legs });
  await new JobSummary()
    .heading('fleet build plan')
    .table(
      ['Job', 'System', 'Runner', 'Hosts'],
      legs.map((leg, i) => [String(i + 1), leg.system, [leg['runs-on']].flat().join(', '), leg.hosts.split(',').join(', ')]),
    )
    .text(legs.length === 0 ? 'No host selected: nothing to build.' : `${targets.length} hosts in ${legs.length} build jobs.`)
    .write();
}
