import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseNarInfo } from '../../src/cache/narinfo.js';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { pushToCache } from '../../src/cache/push.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { collectGarbage } from '../../src/gc/collect.js';
import { readCondemned, writeBuildRecord } from '../../src/gc/records.js';
import { statusReportKey } from '../../src/fleet/status.js';
import { memoryLog } from '../../src/util/log.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { repoRoot, runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { cleanupFreshStores, freshStore, offlineNix } from '../support/nix.js';
import { startFaultProxy, startNginxCache, startS3rver, type NginxCacheHandle, type S3rverHandle } from '../support/servers/index.js';

const HOUR = 3_600_000;
const keys = nixKeyPair('gc-test-1');

/**
 * The cache's garbage collection against real stores (nginx WebDAV, s3rver), with closures real
 * Nix built and reads back: web1's system of variant 1 is unreachable, variant 2 is what web1
 * reports running, db1's build of variant 1 is recorded by a build.
 */
describe.each(['nginx', 's3rver'] as const)('cache garbage collection on %s', (kind) => {
  let nginx: NginxCacheHandle | undefined;
  let s3: S3rverHandle | undefined;
  let store: OpenedStore;
  /** The cache URL Nix substitutes from, and the one our code opens. */
  let urls: { nix: string; ours: string };
  let v1: Record<string, string>;
  let v2: Record<string, string>;
  /** Paths of web1's old system that no root reaches. */
  let onlyOld: string[];

  const push = async (paths: string[], condemned?: ReadonlySet<string>) => {
    const infos = await offlineNix().pathInfo(paths, { recursive: true });
    const result = await pushToCache({ paths: infos, store, signingKey: parseSigningKey(keys.secret), log: memoryLog(), concurrency: 8, narWorkers: 0, ...(condemned ? { condemned } : {}) });
    expect(result.paths.filter((p) => p.status === 'failed' || p.status === 'blocked')).toEqual([]);
  };
  const substitutes = async (path: string) => {
    const local = await freshStore();
    return (await local.copyFrom(urls.nix, [path], { trustedPublicKeys: keys.public, requireSigs: true })).code === 0;
  };
  const narinfoKeys = async () => (await store.list('')).filter((k) => k.endsWith('.narinfo'));
  const gcAt = (hoursLater: number, extra: Partial<Parameters<typeof collectGarbage>[0]> = {}) =>
    collectGarbage({ store, keepBuilds: 5, keepGenerations: 0, pinned: [], minAgeMs: HOUR, dryRun: false, log: memoryLog(), now: () => new Date(Date.now() + hoursLater * HOUR), ...extra });

  beforeAll(async () => {
    [v1, v2] = await Promise.all([buildExampleFleet({ variant: 'gc-1', hosts: ['web1', 'db1'] }), buildExampleFleet({ variant: 'gc-2', hosts: ['web1'] })]).then((b) => b.map((x) => x.toplevels as Record<string, string>));
    if (kind === 'nginx') {
      nginx = await startNginxCache();
      urls = { nix: nginx.url, ours: nginx.url };
      store = openStore(nginx.url);
    } else {
      s3 = await startS3rver({ bucket: 'gc-cache' });
      urls = { nix: s3.url, ours: s3.cacheUrl };
      store = openStore(s3.cacheUrl, { credentials: s3.credentials });
    }
    await store.put('nix-cache-info', 'StoreDir: /nix/store\n', 'text/x-nix-cache-info');
    await push([v1.web1 as string, v1.db1 as string, v2.web1 as string]);
    const keep = new Set((await offlineNix().pathInfo([v2.web1 as string, v1.db1 as string], { recursive: true })).map((i) => i.path));
    onlyOld = (await offlineNix().pathInfo([v1.web1 as string], { recursive: true })).map((i) => i.path).filter((p) => !keep.has(p));
    expect(onlyOld.length).toBeGreaterThan(0);
    const report = { format: 1, host: 'web1', system: v2.web1, booted: v2.web1, profileGeneration: 2, failedUnits: [], needsReboot: false, lastError: null, reportedAt: '2026-12-01T10:00:00Z', adoptedAt: '2026-12-01T09:00:00Z', manifestSequence: null, agentVersion: '1' };
    await store.put(statusReportKey('web1'), JSON.stringify(report), 'application/json');
    await writeBuildRecord(store, { format: 1, ref: 'refs/heads/main', sha: 'a'.repeat(40), builtAt: new Date().toISOString(), storePaths: { db1: v1.db1 as string } });
  }, 300_000);
  afterAll(async () => {
    await store?.close();
    await Promise.all([nginx?.stop(), s3?.stop()]);
    await Promise.all([cleanupFreshStores(), cleanupExampleFleets()]);
  });

  it('condemns the unreachable paths first, deletes nothing, and a dry run later changes nothing either', async () => {
    const before = await narinfoKeys();
    const first = await gcAt(2);
    expect(first.condemned.narinfos).toBe(onlyOld.length);
    expect(first.deleted.narinfos).toBe(0);
    expect(await narinfoKeys()).toEqual(before);
    const dry = await gcAt(4, { dryRun: true });
    expect(dry.deleted.narinfos).toBe(onlyOld.length);
    expect(dry.deletedPaths).toEqual([...onlyOld].sort());
    expect(await narinfoKeys()).toEqual(before);
  });

  it('spares condemned paths a build pushes again while it runs, and real Nix substitutes them after it', async () => {
    const condemned = new Set((await readCondemned(store)).since.keys());
    // Stores date objects to the second; in the cache a condemned path is min-age old.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // A revert to variant 1 is built while the collection plans: its push takes no condemned path for granted.
    const report = await gcAt(4, { beforeSweep: () => push([v1.web1 as string], condemned) });
    expect(report.spared).toBeGreaterThanOrEqual(onlyOld.length);
    expect(report.deleted.narinfos).toBe(0);
    expect(await substitutes(v1.web1 as string)).toBe(true);
  });

  it('removes the unreachable paths on a collection min-age later, narinfos before NARs, and every root stays whole for real Nix', async () => {
    // The re-pushed paths are young now: two rounds from later on find them unreachable and old.
    await gcAt(8);
    const report = await gcAt(10);
    expect(report.deleted.narinfos).toBe(onlyOld.length);
    expect(report.deleted.nars).toBe(onlyOld.length);
    expect(report.deletedPaths).toEqual([...onlyOld].sort());
    const left = new Set(await narinfoKeys());
    for (const path of onlyOld) expect(left.has(`${path.slice(11, 43)}.narinfo`)).toBe(false);
    expect(await substitutes(v2.web1 as string)).toBe(true);
    expect(await substitutes(v1.db1 as string)).toBe(true);
    expect(await substitutes(v1.web1 as string)).toBe(false);
  }, 120_000);

  it('runs through the action-gc bundle: refuses to collect past an unreadable report, and reports what it did', async () => {
    const env = { FLEET_NOW: new Date(Date.now() + 12 * HOUR).toISOString(), ...(s3 ? { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey } : {}) };
    await store.put(statusReportKey('db1'), '{"format":1,"host":"db1"', 'application/json');
    const refused = await runAction('action-gc', { inputs: { cache: urls.ours, 'min-age': '1h' }, env });
    expect(refused.exitCode).toBe(1);
    expect(refused.annotations.map((a) => a.message)).toContainEqual(expect.stringContaining('cannot tell what fleet/status/db1.json keeps, so nothing is collected'));
    await store.delete(statusReportKey('db1'));

    const ok = await runAction('action-gc', { inputs: { cache: urls.ours, 'min-age': '1h' }, env });
    expect(ok.exitCode).toBe(0);
    const report = JSON.parse(ok.outputs.report as string) as { listed: { narinfos: number }; roots: Record<string, number> };
    expect(report.roots).toMatchObject({ running: 1, booted: 1, build: 1 });
    expect(report.listed.narinfos).toBe((await narinfoKeys()).length);
    expect(ok.summary).toContain('fleet gc');
    expect(ok.summary).toContain('what hosts report running');
  });

  it('killed with SIGKILL between the narinfos and the NARs, leaves no narinfo without its NAR, and the next run finishes', async () => {
    // Web1's old system again, found unreachable by a collection at +14 h.
    await push([v1.web1 as string]);
    expect((await gcAt(14)).condemned.narinfos).toBe(onlyOld.length);
    const orphans = await Promise.all(onlyOld.map(async (p) => parseNarInfo(((await store.get(`${p.slice(11, 43)}.narinfo`)) as Buffer).toString('utf8'), p).url));

    // `fleet gc` at +16 h, through a proxy that kills its whole process group when the first NAR delete arrives.
    const target = nginx ? nginx.url : (s3 as S3rverHandle).endpoint;
    let deletes = 0;
    let cli: ReturnType<typeof spawn> | undefined;
    const proxy = await startFaultProxy(target, {
      onRequest: async (method, requestPath) => {
        const isDelete = method === 'DELETE' || (method === 'POST' && /[?&]delete\b/.test(requestPath));
        if (!isDelete) return 'forward';
        deletes++;
        const firstNarDelete = nginx ? requestPath.includes('/nar/') : deletes === 2;
        if (!firstNarDelete || !cli?.pid) return 'forward';
        process.kill(-cli.pid, 'SIGKILL');
        return 'drop';
      },
    });
    const viaProxy = nginx ? proxy.url : urls.ours.replace(encodeURIComponent((s3 as S3rverHandle).endpoint), encodeURIComponent(proxy.endpoint));
    const fleetGc = (cache: string) =>
      spawn(process.execPath, [join(repoRoot, 'cli', 'dist', 'index.js'), 'gc', '--cache', cache, '--min-age', '1h', '--dry-run', 'false'], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FLEET_NOW: new Date(Date.now() + 16 * HOUR).toISOString(), ...(s3 ? { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey } : {}) },
      });
    try {
      cli = fleetGc(viaProxy);
      const [code, signal] = (await once(cli, 'exit')) as [number | null, string | null];
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      await proxy.stop();
    }

    // Every narinfo went, no NAR did: a reader never meets a narinfo whose NAR is gone.
    const objects = new Set(await store.list(''));
    for (const path of onlyOld) expect(objects.has(`${path.slice(11, 43)}.narinfo`)).toBe(false);
    for (const nar of orphans) expect(objects.has(nar)).toBe(true);
    for (const key of [...objects].filter((k) => k.endsWith('.narinfo'))) {
      const info = parseNarInfo(((await store.get(key)) as Buffer).toString('utf8'), key);
      expect(objects.has(info.url)).toBe(true);
    }

    const rerun = fleetGc(urls.ours);
    const output: Buffer[] = [];
    rerun.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
    rerun.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
    const [code] = (await once(rerun, 'exit')) as [number | null];
    expect({ code, output: code === 0 ? '' : Buffer.concat(output).toString() }).toEqual({ code: 0, output: '' });
    const left = new Set(await store.list(''));
    for (const nar of orphans) expect(left.has(nar)).toBe(false);
    expect(await substitutes(v2.web1 as string)).toBe(true);
    expect(await substitutes(v1.db1 as string)).toBe(true);
  }, 180_000);
});
