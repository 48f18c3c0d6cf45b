import { parse as parseYaml } from 'yaml';
import { NIX_SYSTEM } from '../fleet/schema.js';
import { UserError } from '../util/errors.js';
import type { BuildTarget } from './targets.js';

/** The runner labels a system's build jobs run on: one label, or several a runner must all have. */
export type RunnerLabels = Map<string, string | string[]>;

export const DEFAULT_RUNNERS = 'x86_64-linux: ubuntu-latest\naarch64-linux: ubuntu-24.04-arm';

/** One build job: the hosts of one system (one shard of them), and the runner it runs on. */
export interface BuildLeg {
  system: string;
  'runs-on': string | string[];
  /** Host names, comma-separated, as action-build's `hosts` input takes them. */
  hosts: string;
}

const LABEL = /^[A-Za-z0-9][\w.-]*$/;

/** Parses `system: label` lines (YAML: a label, or a list of labels a runner must all have). */
export function parseRunners(text: string): RunnerLabels {
  const notLines = new Error(`${JSON.stringify(text)} is not "system: runner label" lines`);
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    throw notLines;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw notLines;
  const runners: RunnerLabels = new Map();
  for (const [system, value] of Object.entries(parsed)) {
    if (!NIX_SYSTEM.test(system)) throw new Error(`"${system}" is not a Nix system such as aarch64-linux`);
    const labels: unknown[] = Array.isArray(value) ? value : [value];
    const bad = labels.length === 0 ? [] : labels.find((label) => typeof label !== 'string' || !LABEL.test(label));
    if (bad !== undefined) {
      throw new Error(`the runner of ${system}, ${JSON.stringify(bad)}, is not a runner label such as ubuntu-latest (or a list of labels)`);
    }
    runners.set(system, Array.isArray(value) ? (labels as string[]) : (value as string));
  }
  return runners;
}

/**
 * Splits the hosts into build jobs: one per system present, in the order the systems first appear,
 * each system's hosts dealt round-robin over up to `shards` jobs. Every system needs a runner.
 */
export function planBuildLegs(targets: readonly BuildTarget[], options: { shards: number; runners: RunnerLabels; defaultSystem: string }): BuildLeg[] {
  const bySystem = new Map<string, string[]>();
  for (const target of targets) {
    const system = target.system ?? options.defaultSystem;
    bySystem.set(system, [...(bySystem.get(system) ?? []), target.name]);
  }
  const unplaced = [...bySystem.keys()].filter((system) => !options.runners.has(system));
  if (unplaced.length > 0) {
    throw new UserError(
      unplaced.map((system) => `no runner for ${system} (hosts ${bySystem.get(system)?.join(', ')})`).join('; ') +
        `: add a line such as "${unplaced[0]}: <runner label>" to the runners input`,
    );
  }
  return [...bySystem].flatMap(([system, hosts]) => {
    const count = Math.min(options.shards, hosts.length);
    const shards = Array.from({ length: count }, (_, shard) => hosts.filter((_, i) => i % count === shard));
    return shards.map((shard) => ({ system, 'runs-on': options.runners.get(system) as string | string[], hosts: shard.join(',') }));
  });
}
