import type { BinaryCacheStore } from '../../cache/store.js';
import { manifestPointerKey, parsePointer } from '../../deploy/pull/pointer.js';
import { validateManifest } from '../../deploy/pull/manifest.js';
import type { Host } from '../../fleet/types.js';
import { readStatusReports } from '../../fleet/status.js';
import { mapConcurrent } from '../../util/async.js';
import { errorMessage } from '../../util/errors.js';
import type { ReportProblem, ReportsRead } from '../context.js';
import type { Observation } from '../types.js';

type AskedFor = NonNullable<Observation['manifest']>;

/**
 * The hosts' reports in the cache they upload to, with what the store itself saw: each report's
 * object date, and for pull hosts the manifest (its system and issue time) that the deployer
 * published for them. Either bounds the soak a host's own clock can claim.
 */
export async function cacheReports(store: BinaryCacheStore, hosts: readonly Host[]): Promise<ReportsRead> {
  const [status, manifests] = await Promise.all([readStatusReports(store), readManifests(store, hosts)]);
  const observations = new Map<string, Observation>();
  for (const host of hosts) {
    const receivedAt = status.receivedAt.get(host.name);
    const manifest = manifests.found.get(host.name);
    if (receivedAt || manifest) observations.set(host.name, { ...(receivedAt ? { receivedAt } : {}), ...(manifest ? { manifest } : {}) });
  }
  return { reports: status.reports, problems: [...status.problems, ...manifests.problems], observations };
}

/**
 * The current manifest of every pull host, from its pointer. A pointer that exists but cannot be
 * read leaves the host's soak unbounded, so it is a problem naming the host (which then blocks).
 * The pointer's copy of the manifest is enough here: it can only move a soak later.
 */
async function readManifests(store: BinaryCacheStore, hosts: readonly Host[]): Promise<{ found: Map<string, AskedFor>; problems: ReportProblem[] }> {
  const found = new Map<string, AskedFor>();
  const problems: ReportProblem[] = [];
  await mapConcurrent(
    hosts.filter((host) => host.deploy.method === 'pull'),
    16,
    async (host) => {
      let key: string;
      try {
        key = manifestPointerKey(host.environment, host.name);
      } catch {
        return; // a name no manifest can have: the host was never deployed by pull
      }
      try {
        const body = await store.get(key, { notFoundOnly: true });
        if (body === undefined) return;
        const manifest = validateManifest(parsePointer(body, key).manifest, `the manifest in ${key}`);
        found.set(host.name, { system: manifest.system, issuedAt: new Date(manifest.issuedAt) });
      } catch (error) {
        problems.push({ key, host: host.name, message: `its manifest pointer cannot be read, so its soak cannot be bounded: ${errorMessage(error)}` });
      }
    },
  );
  return { found, problems };
}
