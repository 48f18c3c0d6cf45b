import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { narInfoKey, parseNarInfo, renderNarInfo } from '../../src/cache/narinfo.js';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { parseSigningKey, type SigningKey } from '../../src/cache/signing.js';
import { classifyReport, prepareManifestStore, publishManifest, readReport, renderPointer, signManifest, type Manifest, type PublishedManifest } from '../../src/deploy/pull/index.js';
import { canonicalManifestJson } from '../../src/deploy/pull/manifest.js';
import { parseStatusReport } from '../../src/fleet/status.js';
import { exec } from '../../src/util/exec.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { offlineNixEnv } from '../support/nix.js';
import { startFleetCacheServer, type FleetCacheServer, type NginxCacheHandle } from '../support/servers/index.js';
import { agentPaths, generateKeyPair, pushClosures, runAgent, type AgentConfig, type KeyPair } from './deploy-pull-fixture.js';

/**
 * What an attacker who can write to the cache (but holds no manifest key) can try, against real
 * Nix on simulated hosts. The store is the self-hosted cache server (host/nixos/fleet-cache-server.nix:
 * nginx with its shipped config): manifests, closures and reports in one cache, each host writing
 * only its own report with its own token.
 */
describe('pull agent refuses tampered manifests (nginx store)', () => {
  const ENV = 'production';
  const NAMES = ['clinic-t', 'clinic-u', 'clinic-r', 'clinic-w'];
  let fleet: SimulatedFleet;
  let server: FleetCacheServer;
  let cache: NginxCacheHandle;
  let store: OpenedStore;
  let manifestKey: SigningKey;
  let attackerKey: SigningKey;
  let cacheKey: KeyPair;
  let v1: string;
  let v2: string;
  let v3: string;
  let scratch: string;

  const host = (name: string): SimulatedHost => fleet.hosts.find((h) => h.name === name) as SimulatedHost;
  const config = (name: string, overrides: Partial<AgentConfig> = {}): AgentConfig => ({
    host: name,
    environment: ENV,
    storeUrl: cache.url,
    manifestKeys: manifestKey.publicKey.text,
    substituters: cache.url,
    trustedPublicKeys: cacheKey.public,
    ...overrides,
  });
  const pointerKey = (name: string) => `fleet/${ENV}/${name}.json`;
  const publish = (name: string, system: string, extra: Partial<Parameters<typeof publishManifest>[0]> = {}, clock?: { now(): Date }): Promise<PublishedManifest> =>
    publishManifest({ host: name, environment: ENV, system, ...extra }, { store, signingKey: manifestKey, ...(clock ? { clock } : {}) });

  /** Uploads a manifest object (NAR + narinfo) and points the host at it, as an attacker with write access could. */
  const plant = async (name: string, signed: ReturnType<typeof signManifest>, sigs = signed.signatures) => {
    const narKey = `nar/planted-${signed.narHash.slice(7)}.nar`;
    await store.put(narKey, signed.nar, 'application/x-nix-nar');
    await store.put(
      narInfoKey(signed.storePath),
      renderNarInfo({ storePath: signed.storePath, url: narKey, compression: 'none', narHash: signed.narHash, narSize: signed.narSize, references: [], sigs }),
      'text/x-nix-narinfo',
    );
    await store.put(pointerKey(name), renderPointer({ ...signed, signatures: sigs }), 'application/json');
  };

  beforeAll(async () => {
    const [first, second, third] = await Promise.all([
      buildExampleFleet({ variant: '1', hosts: ['clinic-bamako'] }),
      buildExampleFleet({ variant: 'pull-2', hosts: ['clinic-bamako'] }),
      buildExampleFleet({ variant: 'pull-3', hosts: ['clinic-bamako'] }),
    ]);
    v1 = first.toplevels['clinic-bamako'] as string;
    v2 = second.toplevels['clinic-bamako'] as string;
    v3 = third.toplevels['clinic-bamako'] as string;
    manifestKey = parseSigningKey((await generateKeyPair('fleet-manifest-test-1')).secret);
    attackerKey = parseSigningKey((await generateKeyPair('fleet-manifest-test-1')).secret);
    cacheKey = await generateKeyPair('cache-test-1');
    scratch = await mkdtemp(join(tmpdir(), 'fleet-pull-tamper-'));
    // Tokens for clinic-t and clinic-r only: clinic-u has none.
    [server, fleet] = await Promise.all([startFleetCacheServer(scratch, ['clinic-r', 'clinic-t']), startHosts(NAMES.length, { system: v1, names: (i) => NAMES[i] as string })]);
    cache = server.nginx;
    await pushClosures(server.writerUrl, cacheKey, [v2, v3]);
    store = openStore(server.writerUrl);
    await prepareManifestStore(store);
    await writeFile(join(host('clinic-t').root, 'report-token'), `${await server.token('clinic-t')}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await store?.close();
    await Promise.all([fleet?.stop(), server?.stop()]);
    if (scratch) await rm(scratch, { recursive: true, force: true });
    await cleanupExampleFleets();
  });

  it('refuses every forgery, then applies the next genuine manifest', async () => {
    const h = host('clinic-t');
    const tokenFile = join(h.root, 'report-token');
    const withToken = (overrides: Partial<AgentConfig> = {}) => config(h.name, { reportTokenFile: tokenFile, ...overrides });
    const expectRefusedHere = async (pattern: RegExp) => {
      const run = await runAgent(h, withToken());
      expect(run.stderr).toMatch(pattern);
      expect(run.code).toBe(1);
      expect(await h.currentSystem()).toBe(v1);
      expect(await h.profileGeneration()).toBe(1);
      expect((await readReport(store, h.name))?.lastError).toMatch(pattern);
    };

    // 1. The published NAR is swapped for another manifest (different content, same narinfo).
    const genuine = await publish(h.name, v2);
    const evil = signManifest({ ...genuine.manifest, system: v3 }, [manifestKey]);
    expect(evil.nar.length).toBe(genuine.nar.length);
    await writeFile(join(cache.root, `nar/${genuine.narHash.slice(7)}.nar`), evil.nar);
    await expectRefusedHere(/manifest refused: could not fetch .* with a valid signature.*hash mismatch/);

    // 2. The narinfo is rewritten to match the swapped NAR, keeping the genuine signature.
    const narinfo = parseNarInfo((await store.get(narInfoKey(genuine.storePath)))?.toString() ?? '');
    await store.put(narInfoKey(genuine.storePath), renderNarInfo({ ...narinfo, narHash: evil.narHash, fileHash: evil.narHash }), 'text/x-nix-narinfo');
    await expectRefusedHere(/manifest refused: could not fetch .* with a valid signature/);

    // 3. A manifest signed by a key of the same name that is not the manifest key.
    await plant(h.name, signManifest({ ...genuine.manifest, sequence: 7, system: v3 }, [attackerKey]));
    await expectRefusedHere(/manifest refused: could not fetch .* with a valid signature/);

    // 4. An unsigned content-addressed path: Nix itself accepts those without any signature.
    const forged: Manifest = { ...genuine.manifest, sequence: 8, system: v3 };
    const file = join(scratch, `fleet-manifest-${h.name}-8`);
    await writeFile(file, `${canonicalManifestJson(forged)}\n`);
    const chroot = join(scratch, 'attacker-store');
    const added = (await exec('nix', ['store', 'add-file', '--store', chroot, file], { env: offlineNixEnv() })).stdout.trim();
    await exec('nix', ['copy', '--from', chroot, '--to', server.writerUrl, added], { env: offlineNixEnv() });
    await store.put(pointerKey(h.name), JSON.stringify({ format: 1, storePath: added, narHash: genuine.narHash, narSize: genuine.narSize, signatures: [], manifest: forged }), 'application/json');
    await expectRefusedHere(/manifest refused: .* is content-addressed/);

    // 5. Another host's genuine manifest placed at this host's key.
    const other = await publish('clinic-u', v3);
    await store.put(pointerKey(h.name), renderPointer(other), 'application/json');
    await expectRefusedHere(/manifest refused: .* is not a manifest of clinic-t/);

    // 6. A genuine manifest that has expired.
    const longAgo = { now: () => new Date(Date.now() - 40 * 86_400_000) };
    await publish(h.name, v3, {}, longAgo);
    await expectRefusedHere(/manifest refused: sequence \d+ expired at/);

    // 7. The unsigned copy in the pointer is edited: the host applies only what is signed.
    const next = await publish(h.name, v2);
    const pointer = JSON.parse((await store.get(pointerKey(h.name)))?.toString() ?? '{}') as { manifest: Manifest };
    pointer.manifest.system = v3;
    await store.put(pointerKey(h.name), JSON.stringify(pointer), 'application/json');
    const run = await runAgent(h, withToken());
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    const report = await readReport(store, h.name);
    expect(report).toMatchObject({ system: v2, manifestSequence: next.manifest.sequence, lastError: null });
  });

  it('uploads reports only with the host’s own token', async () => {
    const h = host('clinic-t');
    const before = await readReport(store, h.name);
    const wrong = join(h.root, 'wrong-token');
    await writeFile(wrong, 'not-the-token\n', { mode: 0o600 });
    const refused = await runAgent(h, config(h.name, { reportTokenFile: wrong }), 'report');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('could not upload the status report');
    expect(refused.stderr).toContain('HTTP 403');
    expect((await readReport(store, h.name))?.reportedAt).toEqual(before?.reportedAt);
    // The report is kept on the host for the next run.
    const local = await readFile(join(agentPaths(h).state, 'status.json'), 'utf8');
    expect(JSON.parse(local)).toMatchObject({ host: h.name });

    // Another host cannot write clinic-t's report, nor its own without a configured token.
    const u = host('clinic-u');
    const impostor = await runAgent(u, config('clinic-t', { reportUrl: `${cache.url}/fleet/status/clinic-t.json` }), 'report');
    expect(impostor.code).toBe(1);
    // Nor with another host's genuine token (clinic-r's).
    const borrowed = join(u.root, 'borrowed-token');
    await writeFile(borrowed, `${await server.token('clinic-r')}\n`, { mode: 0o600 });
    const withBorrowed = await runAgent(u, config('clinic-t', { reportUrl: `${cache.url}/fleet/status/clinic-t.json`, reportTokenFile: borrowed }), 'report');
    expect(withBorrowed.code).toBe(1);
    expect(withBorrowed.stderr).toContain('HTTP 403');
    expect((await readReport(store, h.name))?.reportedAt).toEqual(before?.reportedAt);
    const unknown = await runAgent(u, config(u.name), 'report');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('HTTP 403');
  });

  it('reboots into a `reboot` manifest inside the window, and postpones outside it', async () => {
    const r = host('clinic-r');
    const w = host('clinic-w');
    // Reports of these hosts go to a directory of their own in nginx's root (file://), beside the store.
    const reportUrl = (name: string) => `file://${cache.root}/reports/${name}.json`;
    const now = new Date();
    const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    const closedWindow = `${hhmm(new Date(now.getTime() + 2 * 3_600_000))}-${hhmm(new Date(now.getTime() + 3 * 3_600_000))}`;

    const postponed = await publish(w.name, v2, { action: 'reboot' });
    const wait = await runAgent(w, config(w.name, { rebootWindow: closedWindow, reportUrl: reportUrl(w.name) }));
    expect(wait.code).toBe(0);
    expect(wait.stderr).toContain(`reboot postponed to the window ${closedWindow}`);
    expect(await w.currentSystem()).toBe(v1);
    expect(await w.bootDefault()).toBe(v2);
    const waiting = parseStatusReport(await readFile(join(cache.root, 'reports', `${w.name}.json`)));
    expect(waiting).toMatchObject({ system: v1, desired: v2, needsReboot: true, lastError: null });
    const state = classifyReport({ host: w.name, system: v2, sequence: postponed.manifest.sequence, action: 'reboot', issuedAt: new Date(postponed.manifest.issuedAt) }, waiting);
    expect(state).toEqual({ state: 'pending', reason: 'the new system is the boot default; waiting for the host to reboot into it' });

    await publish(r.name, v2, { action: 'reboot' });
    const bootId = await r.bootId();
    // The agent reboots the host under its own feet: the ssh session ends with the host.
    await runAgent(r, config(r.name, { reportUrl: reportUrl(r.name) }));
    await waitFor(async () => (await r.ssh(['true'], { timeoutMs: 5000 })).code === 0 && (await r.bootId()) !== bootId);
    expect(await r.currentSystem()).toBe(v2);
    expect(await r.bootedSystem()).toBe(v2);
    const after = await runAgent(r, config(r.name, { reportUrl: reportUrl(r.name) }));
    expect(after.code).toBe(0);
    const rebooted = parseStatusReport(await readFile(join(cache.root, 'reports', `${r.name}.json`)));
    expect(rebooted).toMatchObject({ system: v2, booted: v2, needsReboot: false, lastError: null, manifestSequence: 1 });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('condition not met in time');
}
