import { matchesGlob } from 'node:path';
import type { Nix } from '../nix/index.js';
import { mapConcurrent } from '../util/async.js';
import type { Log } from '../util/log.js';

export interface CheckResult {
  name: string;
  installable: string;
  outcome: 'passed' | 'failed';
  durationMs: number;
  outPath?: string;
  error?: string;
  /** The failed derivations' build logs (tail), for the collapsed group. */
  log?: string;
}

/** The `checks.<system>` attributes matching any pattern (`*`, `vm-*`, exact names). */
export async function matchingChecks(nix: Nix, flake: string, system: string, patterns: readonly string[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const names = await nix.evalAttrNames(flake, `checks.${system}`).catch(() => [] as string[]);
  const matched = names.filter((name) => patterns.some((p) => p === name || matchesGlob(name, p)));
  if (matched.length === 0) throw new Error(`no checks.${system} attribute matches ${patterns.join(', ')}; the flake has: ${names.join(', ') || '(none)'}`);
  return matched;
}

/**
 * Builds each check (a NixOS VM test) on its own so its duration is its own; `--keep-going`
 * inside each build. A check whose result is already in a substituter is fetched, not re-run.
 */
export async function runChecks(nix: Nix, flake: string, system: string, names: readonly string[], log: Log, parallel = 2): Promise<CheckResult[]> {
  return mapConcurrent(names, parallel, async (name): Promise<CheckResult> => {
    const installable = `${flake}#checks.${system}.${name}`;
    const started = performance.now();
    const [outcome] = await nix.build([installable]);
    const durationMs = performance.now() - started;
    if (outcome?.ok) return { name, installable, outcome: 'passed', durationMs, outPath: outcome.outputs.out ?? Object.values(outcome.outputs)[0] };
    const error = outcome?.error ?? 'no result';
    const logs = await Promise.all((outcome?.failedDrvs ?? []).map((drv) => nix.logOf(drv).catch(() => undefined)));
    const text = logs.filter(Boolean).join('\n');
    log.error(`check ${name} failed: ${error.split('\n')[0]}`, { title: `VM test ${name} failed` });
    return { name, installable, outcome: 'failed', durationMs, error, ...(text ? { log: text.split('\n').slice(-200).join('\n') } : {}) };
  });
}
