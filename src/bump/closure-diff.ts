/** One path of a closure with its NAR size (what `nix path-info --recursive` gives). */
export interface ClosureEntry {
  path: string;
  narSize: number;
}

export interface StoreName {
  /** Package name: `openssl`, `nixos-system-web1`. */
  name: string;
  /** Version, or `''` when the name has none (`etc`). */
  version: string;
  /** Output suffix stripped from the name (`dev`, `lib`, `man`), or `''`. */
  output: string;
}

/**
 * Splits a store path's name like `nix store diff-closures` does: an output suffix
 * (`-[a-z]+`, `-lib32`, `-lib64`) comes off first (ambiguous with versions such as `-unstable`,
 * as in Nix), then the version starts at the first `-` not followed by a letter.
 */
export function parseStoreName(pathOrName: string): StoreName {
  const base = pathOrName.slice(pathOrName.lastIndexOf('/') + 1);
  let name = /^[0-9a-df-np-sv-z]{32}-/.test(base) ? base.slice(33) : base;
  let output = '';
  const suffix = /^(.*)-([a-z]+|lib32|lib64)$/.exec(name);
  if (suffix) {
    name = suffix[1] as string;
    output = suffix[2] as string;
  }
  for (let i = 0; i < name.length - 1; i++) {
    if (name[i] === '-' && !/[A-Za-z]/.test(name[i + 1] as string)) {
      return { name: name.slice(0, i), version: name.slice(i + 1), output };
    }
  }
  return { name, version: '', output };
}

/**
 * - `added` / `removed`: the package is new in the closure, or gone from it;
 * - `changed`: other versions;
 * - `rebuilt`: same versions, but the size moved by 8 KiB or more (new dependencies, patches).
 */
export type PackageChangeKind = 'added' | 'removed' | 'changed' | 'rebuilt';

export interface PackageChange {
  name: string;
  kind: PackageChangeKind;
  /** Versions only in the old closure, sorted (`''` for a path without a version). */
  removedVersions: string[];
  /** Versions only in the new closure, sorted. */
  addedVersions: string[];
  /** Bytes (NAR size) of the package's paths after minus before. */
  sizeDelta: number;
}

export interface ClosureDiff {
  before: { paths: number; size: number };
  after: { paths: number; size: number };
  sizeDelta: number;
  /** Sorted by package name. */
  changes: PackageChange[];
}

/** Size moves below this are noise (as in `nix store diff-closures`). */
export const SIZE_DELTA_THRESHOLD = 8 * 1024;

type Grouped = Map<string, Map<string, number>>;

function group(closure: readonly ClosureEntry[]): Grouped {
  const grouped: Grouped = new Map();
  for (const entry of closure) {
    const { name, version } = parseStoreName(entry.path);
    const versions = grouped.get(name) ?? new Map<string, number>();
    versions.set(version, (versions.get(version) ?? 0) + entry.narSize);
    grouped.set(name, versions);
  }
  return grouped;
}

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

/** Package-level difference of two closures, as `nix store diff-closures` computes it. */
export function diffClosures(before: readonly ClosureEntry[], after: readonly ClosureEntry[]): ClosureDiff {
  const old = group(dedupe(before));
  const now = group(dedupe(after));
  const changes: PackageChange[] = [];
  for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const a = old.get(name) ?? new Map<string, number>();
    const b = now.get(name) ?? new Map<string, number>();
    const removedVersions = [...a.keys()].filter((v) => !b.has(v)).sort(compareVersions);
    const addedVersions = [...b.keys()].filter((v) => !a.has(v)).sort(compareVersions);
    const sizeDelta = sum(b.values()) - sum(a.values());
    let kind: PackageChangeKind;
    if (a.size === 0) kind = 'added';
    else if (b.size === 0) kind = 'removed';
    else if (removedVersions.length || addedVersions.length) kind = 'changed';
    else if (Math.abs(sizeDelta) >= SIZE_DELTA_THRESHOLD) kind = 'rebuilt';
    else continue;
    changes.push({ name, kind, removedVersions, addedVersions, sizeDelta });
  }
  const beforeSize = sum(dedupe(before).map((e) => e.narSize));
  const afterSize = sum(dedupe(after).map((e) => e.narSize));
  return {
    before: { paths: dedupe(before).length, size: beforeSize },
    after: { paths: dedupe(after).length, size: afterSize },
    sizeDelta: afterSize - beforeSize,
    changes,
  };
}

function dedupe(closure: readonly ClosureEntry[]): ClosureEntry[] {
  const seen = new Map<string, ClosureEntry>();
  for (const entry of closure) seen.set(entry.path, entry);
  return [...seen.values()];
}

/** Orders versions the way people read them: numeric parts as numbers (`1.9` < `1.10`). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** `3.0.15 → 3.0.16`, `∅ → 1.2` (as diff-closures writes it; `ε` is the empty version). */
export function describeVersions(change: PackageChange): string {
  const show = (versions: string[]) => (versions.length === 0 ? '∅' : versions.map((v) => v || 'ε').join(', '));
  return `${show(change.removedVersions)} → ${show(change.addedVersions)}`;
}
