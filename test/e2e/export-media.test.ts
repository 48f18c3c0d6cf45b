import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../src/cache/open-store.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { prepareManifestStore, publishManifest } from '../../src/deploy/pull/index.js';
import { parseStatusReport } from '../../src/fleet/status.js';
import { repoRoot } from '../support/harness.js';
import { offlineNixEnv } from '../support/nix.js';
import { freePort } from '../support/servers/index.js';
import { generateKeyPair, pushClosures, runAgent, startAgentBed, type AgentBed } from '../integration/deploy-pull-fixture.js';

const exec = promisify(execFile);

/**
 * Removable media, as an operator makes it: `fleet export` (the committed CLI bundle) copies the
 * published manifest of each chosen pull host, and the closure it names, from the store to a
 * directory; a host whose link is down and that lists the disk as a mirror converges from it,
 * every signature checked as from the network.
 */
describe('fleet export: manifests and closures on removable media', () => {
  let bed: AgentBed;
  let work: string;
  let storeDir: string;
  let media: string;
  let inventory: string;
  const fleet = (args: string[]) =>
    exec(join(repoRoot, 'bin', 'fleet'), args, { env: offlineNixEnv(), maxBuffer: 1 << 24 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 2, prefix: 'media' });
    work = await mkdtemp(join(tmpdir(), 'fleet-export-'));
    storeDir = join(work, 'store');
    media = join(work, 'usb');
    // The store as action-build and action-deploy leave it: v2's closure, and a manifest for media-0.
    await pushClosures(`file://${storeDir}`, bed.cacheKey, [bed.v2]);
    const store = openStore(`file://${storeDir}`);
    await prepareManifestStore(store);
    await publishManifest({ host: 'media-0', environment: 'production', system: bed.v2, wave: 'final', commit: 'a'.repeat(40), action: 'switch' }, { store, signingKey: bed.manifestKey });
    await store.close();
    inventory = join(work, 'fleet.yaml');
    await writeFile(
      inventory,
      ['environments:', '  production: { allowed-refs: [refs/heads/main] }', 'hosts:', '  media-0: { environment: production, deploy: { method: pull } }', '  media-1: { environment: production, deploy: { method: pull } }', ''].join('\n'),
    );
  });

  afterAll(async () => {
    await bed?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('exports the chosen hosts that have a manifest, names the others, and exits 1 for them', async () => {
    const result = await fleet(['export', '--cache', `file://${storeDir}`, '--inventory', inventory, '--hosts', 'media-*', '--to', media, '--manifest-public-keys', bed.manifestKey.publicKey.text]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual([
      { host: 'media-0', environment: 'production', sequence: 1, system: bed.v2 },
      { host: 'media-1', environment: 'production', skipped: 'no manifest published (fleet/production/media-1.json)' },
    ]);
    expect(result.stderr).toContain(`media-0: manifest 1 (${bed.v2}) exported to file://${media}`);
    // The pointer is the store's, byte for byte.
    expect(await readFile(join(media, 'fleet/production/media-0.json'), 'utf8')).toBe(await readFile(join(storeDir, 'fleet/production/media-0.json'), 'utf8'));
  });

  it('refuses a manifest none of the given keys signed', async () => {
    const other = parseSigningKey((await generateKeyPair('someone-else-1')).secret);
    const result = await fleet(['export', '--cache', `file://${storeDir}`, '--inventory', inventory, '--hosts', 'media-0', '--to', join(work, 'other'), '--manifest-public-keys', other.publicKey.text]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('fleet/production/media-0.json');
  });

  it('a host with its link down converges from the media alone', async () => {
    const h = bed.host(0);
    const run = await runAgent(
      h,
      bed.config(h, { storeUrl: `http://127.0.0.1:${await freePort()}`, mirrors: `file://${media}`, substituters: `file://${media}`, reportUrl: `file://${join(h.root, 'report.json')}` }),
    );
    expect(run.stderr).toContain(`manifest 1 from the mirror file://${media}`);
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    expect(parseStatusReport(await readFile(join(h.root, 'report.json'), 'utf8'))).toMatchObject({ system: bed.v2, manifestSequence: 1, lastError: null });
  });
});
