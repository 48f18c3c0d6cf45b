import { openStore } from '../../cache/open-store.js';
import type { BinaryCacheStore } from '../../cache/store.js';
import type { Host } from '../../fleet/types.js';
import type { Nix } from '../../nix/index.js';
import { UserError } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import { validateManifest, verifySignedManifest } from './manifest.js';
import type { PublicKey } from '../../cache/signing.js';
import { manifestPointerKey, parsePointer } from './pointer.js';

/**
 * `fleet export`: the published manifests of chosen pull hosts, with the closures they name, copied
 * from the store to removable media (a file:// binary cache on a mounted disk). A host that lists
 * the disk in its agent's `mirrors` and `substituters` then converges from it while its link is
 * down, checking everything exactly as from the network: the copies keep the store's signatures,
 * and nothing is signed here.
 */

export interface ExportRequest {
  /** The store the manifests are published to (action-deploy's manifest-store). */
  store: BinaryCacheStore;
  /** The same store as Nix reads it, where the closures are (`nix copy --from`). */
  closureStore: string;
  /** Pull hosts, each with its environment. */
  hosts: readonly Host[];
  /** The media's directory. */
  to: string;
  /** When given, every manifest must be signed by one of these before it is exported. */
  manifestKeys?: readonly PublicKey[];
  nix: Nix;
  log: Log;
}

export interface ExportedHost {
  host: string;
  environment: string;
  sequence?: number;
  system?: string;
  /** Why it was not exported. */
  skipped?: string;
}

export async function exportPullHosts(request: ExportRequest): Promise<ExportedHost[]> {
  const results: ExportedHost[] = [];
  const pointers: { key: string; body: Buffer }[] = [];
  const paths = new Set<string>();
  for (const host of request.hosts) {
    const base = { host: host.name, environment: host.environment };
    if (host.deploy.method !== 'pull') {
      results.push({ ...base, skipped: `deployed with ${host.deploy.method}, not pull` });
      continue;
    }
    const key = manifestPointerKey(host.environment, host.name);
    const body = await request.store.get(key, { notFoundOnly: true });
    if (!body) {
      results.push({ ...base, skipped: `no manifest published (${key})` });
      continue;
    }
    const pointer = parsePointer(body, key);
    const manifest = validateManifest(pointer.manifest, `${key}'s manifest`);
    if (request.manifestKeys) verifySignedManifest({ manifest, storePath: pointer.storePath, signatures: pointer.signatures }, request.manifestKeys, key);
    if (manifest.host !== host.name || manifest.environment !== host.environment) throw new UserError(`${key} names host ${manifest.host} in ${manifest.environment}, not ${host.name} in ${host.environment}`);
    pointers.push({ key, body });
    paths.add(pointer.storePath);
    paths.add(manifest.system);
    results.push({ ...base, sequence: manifest.sequence, system: manifest.system });
  }
  if (paths.size === 0) return results;
  const media = `file://${request.to}`;
  request.log.info(`copying ${paths.size} store paths and their closures from ${request.closureStore} to ${media}`);
  await request.nix.copy([...paths].sort(), { from: request.closureStore, to: `${media}?compression=zstd` });
  // The pointers last: a disk pulled out half-way holds no pointer to a closure it lacks.
  const target = openStore(media);
  try {
    for (const { key, body } of pointers) await target.put(key, body, 'application/json');
  } finally {
    await target.close();
  }
  return results;
}
