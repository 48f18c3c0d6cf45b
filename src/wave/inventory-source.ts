import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseInventoryText, unreadableInventory } from '../fleet/inventory.js';
import { loadInventory as loadInventoryFrom } from '../fleet/load.js';
import type { Inventory } from '../fleet/types.js';

export interface LoadedInventory {
  inventory: Inventory;
  /** The file it was read from (absolute), when it is a file: only files can be edited. */
  file?: string;
  /** The file's text, for minimal edits. */
  text?: string;
}

/**
 * Reads `fleet.yaml`/`fleet.json` (relative to `cwd`) keeping its text for edits, or evaluates
 * `flake#attribute` through `evalJson`.
 */
export async function loadInventoryWithText(spec: string, options: { cwd: string; evalJson: (installable: string) => Promise<unknown> }): Promise<LoadedInventory> {
  if (spec.includes('#')) return { inventory: await loadInventoryFrom(spec, options.evalJson) };
  const file = isAbsolute(spec) ? spec : resolve(options.cwd, spec);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw unreadableInventory(spec, error, options.cwd);
  }
  return { inventory: parseInventoryText(text, file), file, text };
}

/** `file`'s path inside `root` with forward slashes, or undefined when it lies outside. */
export function pathInside(root: string, file: string): string | undefined {
  const rel = relative(resolve(root), resolve(file));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}
