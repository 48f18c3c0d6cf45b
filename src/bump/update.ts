import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFlakeLock, type FlakeLock, type Nix } from '../nix/index.js';
import { diffLocks, unexpectedChanges, type InputChange } from './lock-diff.js';
import type { FlakeSource } from './flake-source.js';

export const EMPTY_LOCK: FlakeLock = { version: 7, root: 'root', nodes: { root: {} } };

/** flake.lock as it is in the checkout: its text (undefined when missing) and parsed form. */
export interface LockState {
  text: string | undefined;
  lock: FlakeLock;
}

export async function readLockState(source: FlakeSource): Promise<LockState> {
  const file = join(source.dir, 'flake.lock');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: undefined, lock: EMPTY_LOCK };
    throw error;
  }
  try {
    return { text, lock: parseFlakeLock(text) };
  } catch (error) {
    throw new Error(`${source.lockPath}: ${(error as Error).message}`, { cause: error });
  }
}

/** Puts flake.lock back as it was (removes it when there was none). */
export async function restoreLock(source: FlakeSource, state: LockState): Promise<void> {
  const file = join(source.dir, 'flake.lock');
  if (state.text === undefined) await rm(file, { force: true });
  else await writeFile(file, state.text);
}

export interface LockUpdate {
  before: LockState;
  after: LockState;
  changes: InputChange[];
  /** Changes to inputs that were not asked for. */
  unexpected: InputChange[];
}

/**
 * Updates the named inputs (all when empty) with the command the installed Nix understands, then
 * diffs the JSON lock files and flags anything that moved without being asked for.
 */
export async function updateFlakeLock(nix: Nix, source: FlakeSource, inputs: readonly string[], before?: LockState): Promise<LockUpdate> {
  const old = before ?? (await readLockState(source));
  await nix.updateLock(source.ref, inputs);
  const after = await readLockState(source);
  const changes = diffLocks(old.lock, after.lock);
  // Nix re-formats nothing when nothing changed; a whitespace-only rewrite is not a change either.
  const same = changes.length === 0;
  return { before: old, after: same && old.text !== undefined ? old : after, changes, unexpected: unexpectedChanges(changes, inputs) };
}
