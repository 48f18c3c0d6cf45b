import type { PathInfo } from '../nix/index.js';

/** The closure of each root, computed from one recursive path-info instead of one call per root. */
export function closuresByRoot(roots: readonly string[], infos: readonly PathInfo[]): Map<string, Set<string>> {
  const byPath = new Map(infos.map((info) => [info.path, info]));
  const closures = new Map<string, Set<string>>();
  for (const root of roots) {
    const seen = new Set<string>();
    const stack = [root];
    while (stack.length > 0) {
      const path = stack.pop() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      for (const ref of byPath.get(path)?.references ?? []) if (!seen.has(ref)) stack.push(ref);
    }
    closures.set(root, seen);
  }
  return closures;
}
