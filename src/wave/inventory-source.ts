import { access, readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseInventory, parseInventoryText } from '../fleet/inventory.js';
import type { Inventory } from '../fleet/types.js';
import type { Nix } from '../nix/nix.js';
import { UserError } from '../util/errors.js';

export interface LoadedInventory {
  inventory: Inventory;
  /** The file it was read from (absolute), when it is a file: only files can be edited. */
  file?: string;
  /** The file's text, for minimal edits. */
  text?: string;
}

/** Reads `fleet.yaml`/`fleet.json` (relative to `cwd`), or evaluates `flake#attribute` with Nix. */
export async function loadInventory(spec: string, options: { cwd: string; nix?: () => Nix }): Promise<LoadedInventory> {
  const file = isAbsolute(spec) ? spec : resolve(options.cwd, spec);
  const isFile = await access(file).then(() => true, () => false);
  if (!isFile && spec.includes('#')) {
    if (!options.nix) throw new UserError(`Inventory ${spec} is a flake attribute, but Nix is not available here`);
    const document = await options.nix().eval<unknown>(spec);
    return { inventory: parseInventory(document, spec) };
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read the inventory ${spec}: ${(error as Error).message} (give a file such as fleet.yaml, or flake#attribute)`);
  }
  return { inventory: parseInventoryText(text, file), file, text };
}
