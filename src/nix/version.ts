/** Which Nix we talk to: behaviour (JSON shapes, flags) depends on it. */
export interface NixVersion {
  /** The first line of `nix --version`, for messages. */
  text: string;
  flavor: 'nix' | 'determinate' | 'lix';
  /** The Nix release the CLI behaves like (for Lix, the Nix release it forked from). */
  major: number;
  minor: number;
  patch: number;
  /** The product's own version when it differs (Determinate Nix 3.1.0, Lix 2.91.1). */
  productVersion?: string;
}

const NUMBER = /(\d+)\.(\d+)(?:\.(\d+))?/;

/**
 * Parses `nix --version`: `nix (Nix) 2.8.0`, `nix (Nix) 2.24.10`,
 * `nix (Determinate Nix 3.1.0) 2.26.3`, `nix (Lix, like Nix) 2.91.1`.
 */
export function parseNixVersion(output: string): NixVersion {
  const text = output.trim().split('\n')[0]?.trim() ?? '';
  const match = /^nix \(([^)]*)\) (\S+)/.exec(text);
  const numbers = match ? NUMBER.exec(match[2] as string) : null;
  if (!match || !numbers) {
    throw new Error(`cannot read the Nix version from "${text}" (expected e.g. "nix (Nix) 2.24.10")`);
  }
  const product = match[1] as string;
  const [major, minor, patch] = [numbers[1], numbers[2], numbers[3] ?? '0'].map(Number) as [number, number, number];
  if (/lix/i.test(product)) {
    // Lix forked from Nix 2.18 and numbers its releases 2.90 onwards.
    return { text, flavor: 'lix', major: 2, minor: 18, patch: 0, productVersion: numbers[0] };
  }
  const determinate = /determinate nix\s+(\S+)/i.exec(product);
  if (determinate) return { text, flavor: 'determinate', major, minor, patch, productVersion: determinate[1] as string };
  return { text, flavor: 'nix', major, minor, patch };
}

export function formatNixVersion(v: NixVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Whether `v` is at least `major.minor[.patch]`. */
export function nixAtLeast(v: NixVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** `nix flake update INPUT…` updates only the named inputs from 2.19; before, `nix flake lock --update-input`. */
export const supportsFlakeUpdateInputs = (v: NixVersion): boolean => v.flavor !== 'lix' && nixAtLeast(v, 2, 19);

/** `nix path-info --json` prints an object keyed by path from 2.19 (an array before). */
export const pathInfoJsonIsObject = (v: NixVersion): boolean => v.flavor !== 'lix' && nixAtLeast(v, 2, 19);

/** `nix path-info --json-format 1` exists (and plain `--json` warns) from 2.33. */
export const supportsPathInfoJsonFormat = (v: NixVersion): boolean => v.flavor !== 'lix' && nixAtLeast(v, 2, 33);

/** `nix show-derivation` became `nix derivation show` in 2.15. */
export const derivationShowCommand = (v: NixVersion): string[] =>
  v.flavor !== 'lix' && nixAtLeast(v, 2, 15) ? ['derivation', 'show'] : ['show-derivation'];

/** `nix show-config` became `nix config show` in 2.20 (the old name warns); Lix keeps the old one. */
export const configShowCommand = (v: NixVersion): string[] => (v.flavor !== 'lix' && nixAtLeast(v, 2, 20) ? ['config', 'show'] : ['show-config']);
