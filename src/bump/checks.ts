import type { Nix } from '../nix/index.js';
import { mapConcurrent } from '../util/async.js';
import { errorMessage } from '../util/errors.js';
import { toplevelAttr } from './flake-source.js';
import type { CheckKind, CheckResult } from './report.js';

export type ChecksMode = 'none' | CheckKind;

/** The hosts of a flake (`nixosConfigurations`), or why they could not be listed. */
export async function listHosts(nix: Nix, ref: string): Promise<{ hosts: string[]; error?: string }> {
  try {
    return { hosts: await nix.evalAttrNames(ref, 'nixosConfigurations') };
  } catch (error) {
    const message = errorMessage(error);
    if (/does not provide attribute/.test(message)) return { hosts: [] };
    return { hosts: [], error: message };
  }
}

/** Evaluates each host's system derivation: the cheap check that the bump did not break evaluation. */
export async function evalHosts(nix: Nix, ref: string, hosts: readonly string[]): Promise<CheckResult[]> {
  return mapConcurrent(hosts, 2, async (host): Promise<CheckResult> => {
    try {
      await nix.evalRaw(`${toplevelAttr(ref, host)}.drvPath`);
      return { kind: 'eval', target: host, ok: true };
    } catch (error) {
      return { kind: 'eval', target: host, ok: false, error: errorMessage(error) };
    }
  });
}

export interface HostBuild {
  host: string;
  /** The system's store path when it built. */
  toplevel?: string;
  error?: string;
}

/** Builds hosts' systems in one `nix build --keep-going`; failures are per host. */
export async function buildHosts(nix: Nix, ref: string, hosts: readonly string[]): Promise<HostBuild[]> {
  if (hosts.length === 0) return [];
  const outcomes = await nix.build(hosts.map((h) => toplevelAttr(ref, h)));
  return outcomes.map((outcome, i) => {
    const host = hosts[i] as string;
    if (outcome.ok) {
      const toplevel = outcome.outputs.out ?? Object.values(outcome.outputs)[0];
      return toplevel ? { host, toplevel } : { host, error: 'the build produced no output path' };
    }
    return { host, error: outcome.error };
  });
}

export const buildChecks = (builds: readonly HostBuild[]): CheckResult[] =>
  builds.map((b) => (b.toplevel ? { kind: 'build', target: b.host, ok: true } : { kind: 'build', target: b.host, ok: false, error: b.error ?? 'did not build' }));

export async function runFlakeCheck(nix: Nix, ref: string): Promise<CheckResult> {
  const result = await nix.flakeCheck(ref);
  return result.ok ? { kind: 'flake-check', target: 'flake', ok: true } : { kind: 'flake-check', target: 'flake', ok: false, error: result.error };
}
