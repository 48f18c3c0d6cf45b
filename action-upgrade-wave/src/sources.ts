import { resolve } from 'node:path';
import { CACHE_INFO_KEY } from '../../src/cache/cache-info.js';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import type { Host } from '../../src/fleet/types.js';
import type { Nix } from '../../src/nix/nix.js';
import { actionLog, assumeRoleForThisStep } from '../../src/runner/index.js';
import { UserError } from '../../src/util/errors.js';
import type { ExpectedSource, ReportSource, WaveGitHub } from '../../src/wave/context.js';
import { evaluateToplevels, evaluateToplevelsWithInventory } from '../../src/wave/expected.js';
import { pathInside, type LoadedInventory } from '../../src/wave/inventory-source.js';
import { cacheReports } from '../../src/wave/sources/cache.js';
import { deploymentReports } from '../../src/wave/sources/deployments.js';
import { probeHosts } from '../../src/wave/sources/ssh.js';
import type { WaveSettings } from './settings.js';

/** The store holding the status reports (and narinfos for the size table), if a cache is given. */
export function openStatusStore(settings: WaveSettings): OpenedStore | undefined {
  const { inputs, cache } = settings;
  if (!cache) return undefined;
  const role = inputs['role-to-assume'];
  return openStore(cache, {
    log: actionLog,
    ...(role ? { credentials: assumeRoleForThisStep({ roleToAssume: role, region: settings.region, audience: inputs.audience, durationSeconds: 3600 }) } : {}),
  });
}

export function reportSource(settings: WaveSettings, store: OpenedStore | undefined, github: WaveGitHub | undefined): ReportSource {
  switch (settings.inputs['status-source']) {
    case 'cache':
      return async (hosts) => {
        if (!store) throw new UserError('status-source cache needs the cache input');
        // An empty or mistyped location would list no report at all and wait for ever, all hosts stragglers.
        if (!(await store.has(CACHE_INFO_KEY))) {
          throw new UserError(`${store.url} has no ${CACHE_INFO_KEY}: it is not a binary cache fleet pushed to; check the cache input (the cache action-build pushes to and the hosts report to)`);
        }
        return cacheReports(store, hosts);
      };
    case 'ssh':
      return (hosts) => probeHosts(hosts, { clock: settings.clock, log: actionLog });
    case 'deployments':
      return (hosts) => {
        if (!github) throw new UserError('status-source deployments needs the token input');
        return deploymentReports(github.client, github.repo, hosts, { clock: settings.clock });
      };
  }
}

/** The `expected` input, or an evaluation of the flake's toplevels for the hosts asked about. */
export function expectedSource(given: Map<string, string> | undefined, flake: string, nix: () => Nix): ExpectedSource {
  if (given) return async () => given;
  return (hosts: readonly Host[]) => evaluateToplevels(nix(), flake, hosts);
}

/**
 * The next wave's systems for the advance size table: the `next-expected` input, or an evaluation
 * of a copy of the flake with the edited inventory, when the flake is a local directory holding it.
 */
export function nextExpectedSource(given: Map<string, string> | undefined, flake: string, loaded: LoadedInventory, workspace: string, nix: () => Nix) {
  if (given) return async () => given;
  const flakeDir = localFlakeDir(flake, workspace);
  const inside = flakeDir && loaded.file ? pathInside(flakeDir, loaded.file) : undefined;
  if (!flakeDir || !inside) return undefined;
  return (hosts: readonly Host[], editedText: string) => evaluateToplevelsWithInventory(nix(), flakeDir, inside, editedText, hosts);
}

function localFlakeDir(flake: string, workspace: string): string | undefined {
  const ref = flake.replace(/#.*$/, '');
  if (/^path:/.test(ref)) return resolve(workspace, ref.slice('path:'.length).replace(/\?.*$/, ''));
  if (/^[a-z+]+:/.test(ref)) return undefined;
  return resolve(workspace, ref);
}
