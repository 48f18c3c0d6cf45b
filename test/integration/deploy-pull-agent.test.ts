import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { parseSigningKey, type SigningKey } from '../../src/cache/signing.js';
import { parseStatusReport, statusReportKey } from '../../src/fleet/status.js';
import { publishManifest, readReport, waitForConvergence, prepareManifestStore, type PublishedManifest } from '../../src/deploy/pull/index.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { freePort, startNginxCache, startS3rver, type NginxCacheHandle, type S3rverHandle } from '../support/servers/index.js';
import { addHealthCheck, agentPaths, generateKeyPair, pushClosures, runAgent, type AgentConfig, type KeyPair } from './deploy-pull-fixture.js';

/**
 * The pull agent for real: simulated hosts (own /nix, /run, boot loader), manifests and status
 * reports in s3rver, closures in an nginx cache, both read by real Nix with signatures checked.
 */
describe('pull agent against s3rver (manifests, reports) and nginx (closures)', () => {
  const ENV = 'production';
  const NAMES = ['clinic-a', 'clinic-b', 'clinic-c', 'clinic-d', 'clinic-e', 'clinic-f', 'clinic-g'];
  let fleet: SimulatedFleet;
  let s3: S3rverHandle;
  let cache: NginxCacheHandle;
  let store: OpenedStore;
  let manifestKey: SigningKey;
  let cacheKey: KeyPair;
  let v1: string;
  let v2: string;
  let v3: string;

  const host = (name: string): SimulatedHost => fleet.hosts.find((h) => h.name === name) as SimulatedHost;
  const config = (name: string, overrides: Partial<AgentConfig> = {}): AgentConfig => ({
    host: name,
    environment: ENV,
    storeUrl: s3.url,
    manifestKeys: manifestKey.publicKey.text,
    substituters: cache.url,
    trustedPublicKeys: cacheKey.public,
    ...overrides,
  });
  const publish = (name: string, system: string, extra: { action?: 'switch' | 'boot' | 'reboot' } = {}): Promise<PublishedManifest> =>
    publishManifest({ host: name, environment: ENV, system, wave: 'middle', commit: 'a'.repeat(40), ...extra }, { store, signingKey: manifestKey });
  const report = async (name: string) => {
    const body = await store.get(statusReportKey(name));
    if (!body) throw new Error(`no report for ${name}`);
    return parseStatusReport(body);
  };

  beforeAll(async () => {
    const [first, second, third] = await Promise.all([
      buildExampleFleet({ variant: '1', hosts: ['clinic-kin'] }),
      buildExampleFleet({ variant: 'pull-2', hosts: ['clinic-kin'] }),
      buildExampleFleet({ variant: 'pull-3', hosts: ['clinic-kin'] }),
    ]);
    v1 = first.toplevels['clinic-kin'] as string;
    v2 = second.toplevels['clinic-kin'] as string;
    v3 = third.toplevels['clinic-kin'] as string;
    const manifestPair = await generateKeyPair('fleet-manifest-test-1');
    manifestKey = parseSigningKey(manifestPair.secret);
    cacheKey = await generateKeyPair('cache-test-1');
    [s3, cache, fleet] = await Promise.all([startS3rver(), startNginxCache(), startHosts(NAMES.length, { system: v1, names: (i) => NAMES[i] as string })]);
    await pushClosures(cache.url, cacheKey, [v2, v3]);
    store = openStore(s3.cacheUrl, { credentials: s3.credentials });
    await prepareManifestStore(store);
  });

  afterAll(async () => {
    await store?.close();
    await Promise.all([fleet?.stop(), s3?.stop(), cache?.stop()]);
    await cleanupExampleFleets();
  });

  it('applies a new manifest: substitutes the closure, switches, reports; a second run changes nothing', async () => {
    const h = host('clinic-a');
    const published = await publish(h.name, v2);
    expect(published.manifest.sequence).toBe(1);

    const run = await runAgent(h, config(h.name));
    expect(run.stderr).toContain('manifest 1 applied');
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    expect(await h.profileSystem()).toBe(v2);
    expect(await h.profileGeneration()).toBe(2);

    const status = await report(h.name);
    expect(status).toMatchObject({ host: h.name, system: v2, booted: v1, profileGeneration: 2, manifestSequence: 1, lastError: null, desired: v2, failedUnits: [], generations: [v1] });
    expect(status.adoptedAt.getTime()).toBeLessThanOrEqual(status.reportedAt.getTime());

    const again = await runAgent(h, config(h.name));
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('applied already');
    expect(await h.profileGeneration()).toBe(2);

    const waited = await waitForConvergence(store, [{ host: h.name, system: v2, sequence: 1, action: 'switch', issuedAt: new Date(published.manifest.issuedAt) }], {
      timeoutMs: 1000,
    });
    expect(waited.results[0]).toMatchObject({ outcome: 'succeeded', after: v2, generation: 2 });
    expect(waited.stragglers).toEqual([]);
  });

  it('refuses a replayed older manifest and a second manifest with an applied sequence', async () => {
    const h = host('clinic-b');
    const key = `fleet/${ENV}/${h.name}.json`;
    await publish(h.name, v2);
    const oldPointer = (await store.get(key)) as Buffer;
    expect((await runAgent(h, config(h.name))).code).toBe(0);
    const second = await publish(h.name, v3);
    expect(second.manifest.sequence).toBe(2);
    expect((await runAgent(h, config(h.name))).code).toBe(0);
    expect(await h.currentSystem()).toBe(v3);

    // Someone with write access to the bucket puts the old (validly signed) pointer back.
    await store.put(key, oldPointer, 'application/json');
    const replay = await runAgent(h, config(h.name));
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/sequence 1 is older than the applied 2/);
    expect(await h.currentSystem()).toBe(v3);
    const status = await report(h.name);
    expect(status.manifestSequence).toBe(2);
    expect(status.lastError).toMatch(/manifest refused: sequence 1 is older/);

    // A different manifest (validly signed) that reuses the applied sequence 2.
    const { signManifest } = await import('../../src/deploy/pull/manifest.js');
    const { renderPointer } = await import('../../src/deploy/pull/pointer.js');
    const { narInfoKey, renderNarInfo } = await import('../../src/cache/narinfo.js');
    const twin = signManifest({ ...second.manifest, system: v2 }, [manifestKey]);
    await store.put(`nar/twin-${h.name}.nar`, twin.nar, 'application/x-nix-nar');
    await store.put(
      narInfoKey(twin.storePath),
      renderNarInfo({ storePath: twin.storePath, url: `nar/twin-${h.name}.nar`, compression: 'none', narHash: twin.narHash, narSize: twin.narSize, references: [], sigs: twin.signatures }),
      'text/x-nix-narinfo',
    );
    await store.put(key, renderPointer(twin), 'application/json');
    const twinRun = await runAgent(h, config(h.name));
    expect(twinRun.code).toBe(1);
    expect(twinRun.stderr).toMatch(/sequence 2 was applied already from another manifest/);
    expect(await h.currentSystem()).toBe(v3);
  });

  it('refuses a replayed older manifest after its state directory is lost, from the manifest profile beside the system profile', async () => {
    const h = host('clinic-g');
    const key = `fleet/${ENV}/${h.name}.json`;
    await publish(h.name, v2);
    const oldPointer = (await store.get(key)) as Buffer;
    expect((await runAgent(h, config(h.name))).code).toBe(0);
    await publish(h.name, v3);
    expect((await runAgent(h, config(h.name))).code).toBe(0);
    expect(await h.currentSystem()).toBe(v3);
    expect((await h.console(['readlink', '-f', '/nix/var/nix/profiles/fleet-manifest'])).stdout.trim()).toMatch(/-fleet-manifest-clinic-g-2$/);

    await rm(agentPaths(h).state, { recursive: true, force: true });
    await store.put(key, oldPointer, 'application/json');
    const replay = await runAgent(h, config(h.name));
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/state was lost; using 2/);
    expect(replay.stderr).toMatch(/sequence 1 is older than the applied 2/);
    expect(await h.currentSystem()).toBe(v3);
  });

  it('keeps the current system when the cache is unreachable, reports why, and retries on the next run', async () => {
    const h = host('clinic-c');
    const published = await publish(h.name, v2);
    const closed = await freePort();
    const run = await runAgent(h, config(h.name, { substituters: `http://127.0.0.1:${closed}` }));
    expect(run.code).toBe(1);
    expect(await h.currentSystem()).toBe(v1);
    expect(await h.profileGeneration()).toBe(1);
    expect(await h.hasPath(v2)).toBe(false);
    const status = await report(h.name);
    expect(status.system).toBe(v1);
    expect(status.manifestSequence).toBeNull();
    expect(status.lastError).toContain(`could not fetch ${v2} from http://127.0.0.1:${closed}`);

    // The deployer's wait sees a host that is alive but stuck, and says why.
    const waited = await waitForConvergence(store, [{ host: h.name, system: v2, sequence: 1, action: 'switch', issuedAt: new Date(published.manifest.issuedAt) }], {
      timeoutMs: 0,
    });
    expect(waited.stragglers).toEqual([h.name]);
    expect(waited.results[0]?.outcome).toBe('failed');
    expect(waited.results[0]?.message).toContain('could not fetch');

    // The link comes back: the same manifest is applied.
    const retry = await runAgent(h, config(h.name));
    expect(retry.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    expect((await report(h.name)).lastError).toBeNull();
  });

  it('rolls a failed switch back to the exact previous system and reports it', async () => {
    const h = host('clinic-d');
    const published = await publish(h.name, v2);
    await h.setFault('fail');
    const run = await runAgent(h, config(h.name));
    expect(run.code).toBe(1);
    expect(await h.currentSystem()).toBe(v1);
    expect(await h.profileSystem()).toBe(v1);
    expect(await h.bootDefault()).toBe(v1);
    const status = await report(h.name);
    expect(status).toMatchObject({ system: v1, manifestSequence: 1, desired: v2 });
    expect(status.lastError).toBe(`rolled back to ${v1}: switch-to-configuration switch exited with 1`);

    const waited = await waitForConvergence(store, [{ host: h.name, system: v2, sequence: 1, action: 'switch', issuedAt: new Date(published.manifest.issuedAt), before: v1 }], {
      timeoutMs: 1000,
    });
    expect(waited.results[0]).toMatchObject({ outcome: 'rolled-back', before: v1, after: v1 });

    // The failed manifest is not retried: the next run keeps the host as it is and still reports the failure.
    const again = await runAgent(h, config(h.name));
    expect(again.code).toBe(0);
    expect(await h.currentSystem()).toBe(v1);
    expect((await report(h.name)).lastError).toMatch(/^rolled back to/);
  });

  it('rolls back when a health check fails after the switch', async () => {
    const h = host('clinic-e');
    await addHealthCheck(h, 'app', 'systemctl is-active app.service');
    await publish(h.name, v2);
    await h.setFault('health-fail');
    const run = await runAgent(h, config(h.name));
    expect(run.code).toBe(1);
    expect(await h.currentSystem()).toBe(v1);
    const status = await report(h.name);
    expect(status.lastError).toMatch(new RegExp(`^rolled back to ${v1.replace(/[.+]/g, '\\$&')}: health check app failed \\(exit 3\\)`));
  });

  it('keeps a degraded switch (units failed) and reports it as a failure', async () => {
    const h = host('clinic-f');
    const published = await publish(h.name, v2);
    await h.setFault('degraded');
    const run = await runAgent(h, config(h.name));
    expect(run.code).toBe(1);
    expect(await h.currentSystem()).toBe(v2);
    const status = await readReport(store, h.name);
    expect(status?.lastError).toBe('switch-to-configuration switch exited with 4: some units failed');
    expect(status?.failedUnits).toEqual(['app.service']);
    const waited = await waitForConvergence(store, [{ host: h.name, system: v2, sequence: published.manifest.sequence, action: 'switch', issuedAt: new Date(published.manifest.issuedAt) }], {
      timeoutMs: 1000,
    });
    expect(waited.results[0]?.outcome).toBe('degraded');
    expect(waited.ok).toBe(false);
    // The report is also kept on the host.
    const local = parseStatusReport(await readFile(join(agentPaths(h).state, 'status.json')));
    expect(local.system).toBe(v2);
  });
});
