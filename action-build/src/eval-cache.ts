import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as cache from '@actions/cache';
import { actionLog, readState, saveState } from '../../src/runner/index.js';

const EVAL_CACHE_DIR = join(homedir(), '.cache', 'nix');
const PREFIX = 'fleet-nix-eval-';

async function lockHash(flake: string): Promise<string> {
  const dir = flake.replace(/^path:/, '').replace(/#.*$/, '') || '.';
  try {
    return createHash('sha256').update(await readFile(join(dir, 'flake.lock'))).digest('hex').slice(0, 16);
  } catch {
    return 'no-lock';
  }
}

/** Restores Nix's evaluation cache (keyed by the flake.lock) so unchanged hosts evaluate in seconds. */
export async function restoreEvalCache(flake: string): Promise<void> {
  if (!cache.isFeatureAvailable()) {
    actionLog.warning('nix-eval-cache: the Actions cache service is not available to this job; evaluating without it');
    return;
  }
  const key = `${PREFIX}${process.env.RUNNER_OS ?? 'Linux'}-${await lockHash(flake)}`;
  saveState('eval-cache-key', key);
  try {
    const hit = await cache.restoreCache([EVAL_CACHE_DIR], key, [`${PREFIX}${process.env.RUNNER_OS ?? 'Linux'}-`]);
    saveState('eval-cache-hit', hit === key ? 'true' : 'false');
    actionLog.info(hit ? `nix-eval-cache: restored ${hit}` : 'nix-eval-cache: no cache yet');
  } catch (error) {
    actionLog.warning(`nix-eval-cache: restore failed (${(error as Error).message}); evaluating without it`);
  }
}

/** The post step: saves the evaluation cache unless the exact key was restored. */
export async function saveEvalCache(): Promise<void> {
  const key = readState('eval-cache-key');
  if (!key || readState('eval-cache-hit') === 'true') return;
  try {
    await cache.saveCache([EVAL_CACHE_DIR], key);
    actionLog.info(`nix-eval-cache: saved ${key}`);
  } catch (error) {
    actionLog.warning(`nix-eval-cache: save failed (${(error as Error).message})`);
  }
}
