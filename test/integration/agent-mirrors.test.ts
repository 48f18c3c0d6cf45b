import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/cache/open-store.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { publishManifest, prepareManifestStore } from '../../src/deploy/pull/index.js';
import { parseStatusReport } from '../../src/fleet/status.js';
import type { SimulatedHost } from '../support/hosts/index.js';
import { freePort } from '../support/servers/index.js';
import { generateKeyPair, pushClosures, runAgent, startAgentBed, type AgentBed, type AgentConfig } from './deploy-pull-fixture.js';

/**
 * Manifests from more than one store: mirrors (a site cache, a copy on a mounted disk) asked
 * before the central store. A host whose central store is down converges from a mirror, checked
 * exactly as from the store; a mirror with a tampered narinfo changes nothing and is reported; a
 * mirror that is behind is passed over.
 */
describe('pull agent: mirrors', () => {
  let bed: AgentBed;
  const dirs: string[] = [];

  /** A file:// store on a "disk": v2's closure (signed by the cache key) and, signed by the manifest key, a manifest for `host`. */
  const mirrorFor = async (host: string, system: string, { signingKey = bed.manifestKey, manifests = 1 } = {}) => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-mirror-'));
    dirs.push(dir);
    await pushClosures(`file://${dir}`, bed.cacheKey, [bed.v2]);
    const store = openStore(`file://${dir}`);
    await prepareManifestStore(store);
    for (let i = 0; i < manifests; i++) {
      await publishManifest({ host, environment: 'production', system, wave: 'final', commit: 'f'.repeat(40), action: 'switch' }, { store, signingKey });
    }
    await store.close();
    return dir;
  };
  /** The central store is down; the report goes to a file beside the host. */
  const offline = async (h: SimulatedHost, mirror: string): Promise<AgentConfig> =>
    bed.config(h, { storeUrl: `http://127.0.0.1:${await freePort()}`, mirrors: `file://${mirror}`, substituters: `file://${mirror}`, reportUrl: `file://${join(h.root, 'report.json')}` });
  const reportOf = async (h: SimulatedHost) => parseStatusReport(await readFile(join(h.root, 'report.json'), 'utf8'));

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 4, prefix: 'mirror' });
  });

  afterAll(async () => {
    await bed?.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('converges from a mirror while the store is down', async () => {
    const h = bed.host(0);
    const mirror = await mirrorFor(h.name, bed.v2);
    const run = await runAgent(h, await offline(h, mirror));
    expect(run.stderr).toContain(`manifest 1 from the mirror file://${mirror}`);
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    expect(await reportOf(h)).toMatchObject({ system: bed.v2, manifestSequence: 1, lastError: null });
  });

  it('refuses a mirror whose narinfo was tampered with, keeps the system, reports it, and converges once the mirror is sound', async () => {
    const h = bed.host(1);
    const mirror = await mirrorFor(h.name, bed.v2);
    const file = join(mirror, `${bed.v2.slice('/nix/store/'.length, '/nix/store/'.length + 32)}.narinfo`);
    const sound = await readFile(file, 'utf8');
    // A reference dropped: the fingerprint no longer matches the signature.
    await writeFile(file, sound.replace(/^References: (\S+) /m, 'References: '));
    expect(await readFile(file, 'utf8')).not.toBe(sound);
    const config = await offline(h, mirror);
    const refused = await runAgent(h, config);
    expect(refused.code).toBe(1);
    expect(await h.currentSystem()).toBe(bed.v1);
    expect((await reportOf(h)).lastError).toContain(`could not fetch ${bed.v2}`);

    await writeFile(file, sound);
    const later = await runAgent(h, config);
    expect(later.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    expect((await reportOf(h)).lastError).toBeNull();
  });

  it('passes over a mirror that is behind the manifest applied', async () => {
    const h = bed.host(2);
    await bed.publish(h.name);
    expect((await runAgent(h, bed.config(h))).code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    // A disk from before: its own manifest 1, for the old system.
    const stale = await mirrorFor(h.name, bed.v1);
    const run = await runAgent(h, bed.config(h, { mirrors: `file://${stale}` }));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`the mirror file://${stale} has manifest 1, not newer than the one applied`);
    expect(await h.currentSystem()).toBe(bed.v2);
  });

  it('a forged newer manifest on a mirror does not hide the store\'s: the host converges from the store and reports the forgery until the mirror is sound', async () => {
    const h = bed.host(3);
    await bed.publish(h.name);
    // Someone with the mirror's disk but not the manifest key: manifest 3, back to the old system.
    const forger = parseSigningKey((await generateKeyPair('fleet-manifest-mirror-1')).secret);
    const forged = await mirrorFor(h.name, bed.v1, { signingKey: forger, manifests: 3 });
    const config = bed.config(h, { mirrors: `file://${forged}`, reportUrl: `file://${join(h.root, 'report.json')}` });

    const run = await runAgent(h, config);
    expect(run.code).toBe(1);
    expect(await h.currentSystem()).toBe(bed.v2);
    const report = await reportOf(h);
    expect(report).toMatchObject({ system: bed.v2, manifestSequence: 1 });
    expect(report.lastError).toMatch(new RegExp(`^manifest refused: could not fetch /nix/store/\\w{32}-fleet-manifest-${h.name}-3 with a valid signature`));
    expect(report.lastError).toContain(`(from the mirror file://${forged})`);

    // Still there on the next run: nothing new to apply, and the forgery is reported again.
    const again = await runAgent(h, config);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('manifest 1 is applied already');
    expect((await reportOf(h)).lastError).toContain(`(from the mirror file://${forged})`);

    await rm(join(forged, 'fleet'), { recursive: true });
    const sound = await runAgent(h, config);
    expect(sound.code).toBe(0);
    expect((await reportOf(h)).lastError).toBeNull();
  });
});
