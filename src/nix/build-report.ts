import { parseErrorBlocks } from './errors.js';

/** What happened to one installable given to `Nix.build`. */
export type BuildOutcome = BuildSuccess | BuildFailure;

export interface BuildSuccess {
  installable: string;
  ok: true;
  /** Absent for installables that are plain store paths. */
  drvPath?: string;
  /** Output name → store path (`{ out: … }` for a plain store path). */
  outputs: Record<string, string>;
}

export interface BuildFailure {
  installable: string;
  ok: false;
  /** `eval`: the installable did not evaluate; `build`: it (or a dependency) failed to build. */
  stage: 'eval' | 'build';
  drvPath?: string;
  /** Nix's error text that concerns this installable (builder failures with log tails). */
  error: string;
  /** Derivations in its closure whose builders failed; `Nix.logOf` gives their full logs. */
  failedDrvs: string[];
}

/** One entry of `nix build --json` (also `--dry-run --json`). */
export interface BuildJsonEntry {
  drvPath?: string;
  outputs: Record<string, string>;
}

function fullPath(p: string, storeDir: string): string {
  return p.startsWith('/') ? p : `${storeDir}/${p}`;
}

/**
 * Parses `nix build --json` output: `[{ drvPath, outputs: { out: path } }]` in installable order.
 * A store-path installable is `{ path }` in Nix 2.8 and a bare path string in current Nix (which also
 * reads a bare `.drv` installable as the file itself; `DRV^out` names its output). Output paths may be
 * absent (`null`) in dry runs of floating content-addressed derivations.
 */
export function parseBuildJson(stdout: string, storeDir = '/nix/store'): BuildJsonEntry[] {
  const value = JSON.parse(stdout) as unknown;
  if (!Array.isArray(value)) throw new Error('nix build --json printed no array');
  return value.map((entry: unknown) => {
    if (typeof entry === 'string') return { outputs: { out: fullPath(entry, storeDir) } };
    if (typeof entry !== 'object' || entry === null) throw new Error(`unexpected nix build --json entry ${JSON.stringify(entry)}`);
    const e = entry as { drvPath?: unknown; outputs?: unknown; path?: unknown };
    if (typeof e.path === 'string') return { outputs: { out: fullPath(e.path, storeDir) } };
    const outputs: Record<string, string> = {};
    if (typeof e.outputs === 'object' && e.outputs !== null) {
      for (const [name, path] of Object.entries(e.outputs)) if (typeof path === 'string') outputs[name] = fullPath(path, storeDir);
    }
    const parsed: BuildJsonEntry = { outputs };
    if (typeof e.drvPath === 'string') parsed.drvPath = fullPath(e.drvPath, storeDir);
    return parsed;
  });
}

const DRV_PATH = /\/[^\s'"`]*\/[0123456789abcdfghijklmnpqrsvwxyz]{32}-[^\s'"`]+?\.drv\b/g;

/** Derivation paths named in a block of Nix's text. */
export function drvPathsIn(text: string): string[] {
  return [...new Set(text.match(DRV_PATH) ?? [])];
}

/**
 * Derivations whose builder failed: `error: builder for '…drv' failed` blocks (Nix 2.8), `Cannot build
 * '…drv'. Reason: builder failed` (current Nix; not its `Reason: 1 dependency failed` blocks, whose
 * builder never ran), and fixed-output hash mismatches.
 */
export function failedBuilders(stderr: string): string[] {
  const failed = new Set<string>();
  for (const block of parseErrorBlocks(stderr)) {
    const head = block.split('\n')[0] ?? '';
    const cannot = /^error: (?:.*: )?Cannot build '([^']+\.drv)'/.exec(head);
    if (cannot) {
      if (!/Reason: \d+ dependenc(?:y|ies) failed/.test(block)) failed.add(cannot[1] as string);
      continue;
    }
    const m =
      /^error: builder for '([^']+\.drv)'/.exec(head) ??
      /^error: hash mismatch in fixed-output derivation '([^']+\.drv)'/.exec(head) ??
      // Nix 2.8's words for a derivation of another system (current Nix says "Cannot build", above).
      /^error: a '[\w-]+' with features \{[^}]*\} is required to build '([^']+\.drv)'/.exec(head);
    if (m) failed.add(m[1] as string);
  }
  return [...failed];
}

/**
 * The problems a failed `nix flake check --keep-going` reports: Nix 2.8 prints each as an `error (ignored): …`
 * line; current Nix prints `error:` blocks (with an evaluation trace) and a closing `some errors were
 * encountered` line, which says nothing by itself.
 */
export function flakeCheckProblems(stderr: string): string[] {
  const ignored = stderr
    .split('\n')
    .filter((line) => line.startsWith('error (ignored): '))
    .map((line) => line.replace(/^error \(ignored\): (error: )?/, 'error: '));
  const blocks = parseErrorBlocks(stderr).filter((block) => !/^error: some errors were encountered during the evaluation$/.test(block));
  return [...ignored, ...blocks];
}

/**
 * The part of a failed `nix build` stderr that concerns one installable, given the derivations
 * in its closure (its own drv and every drv it depends on).
 */
export function attributeBuildErrors(stderr: string, closure: ReadonlySet<string>): { error: string; failedDrvs: string[] } {
  const blocks = parseErrorBlocks(stderr);
  const mine = blocks.filter((b) => drvPathsIn(b).some((d) => closure.has(d)));
  const failedDrvs = failedBuilders(stderr).filter((d) => closure.has(d));
  if (mine.length > 0) return { error: mine.join('\n'), failedDrvs };
  // Errors that name no derivation (disk full, daemon gone) concern every installable.
  const general = blocks.filter((b) => drvPathsIn(b).length === 0);
  return { error: general.join('\n'), failedDrvs };
}
