import { parseInventory, readInventoryFile } from './inventory.js';
import type { Inventory } from './types.js';

/**
 * Loads the inventory from `fleet.yaml`/`fleet.json`, or from a flake attribute
 * (`.#fleet`, `path:/repo#inventory`) through the given evaluator (`nix eval --json`).
 */
export async function loadInventory(spec: string, evalJson: (installable: string) => Promise<unknown>): Promise<Inventory> {
  if (spec.includes('#')) return parseInventory(await evalJson(spec), spec);
  return readInventoryFile(spec);
}
