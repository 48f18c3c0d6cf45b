import { toplevelOf } from '../../src/pipeline/targets.js';
import type { Host } from '../../src/fleet/index.js';
import type { Nix } from '../../src/nix/index.js';
import { UserError } from '../../src/util/errors.js';

/**
 * The system each host gets: from action-build's `store-paths`, or built from the flake (the
 * runner copies closures over SSH, so they must exist here).
 */
export async function resolveSystems(hosts: readonly Host[], storePaths: Record<string, string> | undefined, flake: string, nix: Nix): Promise<Record<string, string>> {
  if (storePaths) {
    const missing = hosts.filter((h) => !storePaths[h.name]).map((h) => h.name);
    if (missing.length > 0) throw new UserError(`store-paths has no system for ${missing.join(', ')}: build them first (action-build's store-paths output)`);
    return Object.fromEntries(hosts.map((h) => [h.name, storePaths[h.name] as string]));
  }
  const outcomes = await nix.build(hosts.map((h) => toplevelOf(flake, h.attribute)));
  const failed = outcomes.flatMap((o, i) => (o.ok ? [] : [`${hosts[i]?.name}: ${o.error.split('\n')[0]}`]));
  if (failed.length > 0) throw new UserError(`could not build the systems to deploy:\n${failed.join('\n')}`);
  return Object.fromEntries(hosts.map((h, i) => {
    const outcome = outcomes[i];
    return [h.name, outcome?.ok ? (outcome.outputs.out as string) : ''];
  }));
}
