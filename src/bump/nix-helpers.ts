import type { Nix } from '../nix/index.js';
import type { ClosureEntry } from './closure-diff.js';

/** Every path in the closure of a store path, with its NAR size. */
export async function closureOf(nix: Nix, storePath: string): Promise<ClosureEntry[]> {
  const infos = await nix.pathInfo([storePath], { recursive: true });
  return infos.map((info) => ({ path: info.path, narSize: info.narSize }));
}
