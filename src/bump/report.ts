import type { ClosureDiff } from './closure-diff.js';
import type { InputChange } from './lock-diff.js';

export type CheckKind = 'eval' | 'build' | 'flake-check';

export interface CheckResult {
  kind: CheckKind;
  /** What was checked: a host, or the flake itself for `flake-check`. */
  target: string;
  ok: boolean;
  /** Nix's error when it failed. */
  error?: string;
}

/** The closure of one host before and after the bump. */
export interface HostClosure {
  host: string;
  before?: string;
  after?: string;
  diff?: ClosureDiff;
  /** Why there is no diff (the host did not build before or after). */
  error?: string;
}

/** What a bump did to one flake. */
export interface FlakeBump {
  /** Flake directory relative to the repository root (`.` for the root). */
  flake: string;
  /** Its flake.lock relative to the repository root (`flake.lock`, `hosts/flake.lock`). */
  lockPath: string;
  changes: InputChange[];
  /** Changes outside the inputs that were asked for (Nix moved them anyway). */
  unexpected: InputChange[];
  closures: HostClosure[];
  checks: CheckResult[];
}

/** Everything a bump pull request describes. */
export interface BumpReport {
  /** `all`, or the input name of a `per-input` group. */
  group: string;
  /** Inputs that were asked for (empty: all). */
  requested: string[];
  flakes: FlakeBump[];
  /** `nix (Nix) 2.8.0`, for the footer. */
  nixVersion?: string;
}

export const changeCount = (report: BumpReport): number => report.flakes.reduce((n, f) => n + f.changes.length, 0);
export const failedChecks = (report: BumpReport): CheckResult[] => report.flakes.flatMap((f) => f.checks.filter((c) => !c.ok));
