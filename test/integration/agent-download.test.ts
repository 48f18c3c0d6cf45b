import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readReport } from '../../src/deploy/pull/index.js';
import type { HostStatusReport } from '../../src/fleet/status.js';
import { sleep } from '../../src/util/async.js';
import { exec } from '../../src/util/exec.js';
import type { SimulatedHost } from '../support/hosts/index.js';
import { offlineNixEnv } from '../support/nix.js';
import { runAgent, startAgentBed, type AgentBed, type AgentConfig } from './deploy-pull-fixture.js';

/**
 * The pull agent's download progress for real: a simulated host fetches a new system through a
 * proxy that can hold or refuse NARs. The report it uploads before the fetch, the one after a
 * fetch that failed part way, and the metrics, are held against the closure as the runner's own
 * store lists it and against what the host's store has.
 */

interface ClosurePath {
  path: string;
  narSize: number;
}

/** The closure with NAR sizes, from the runner's store (where the example fleet was built). */
async function closureOf(system: string): Promise<ClosurePath[]> {
  const out = await exec('nix', ['path-info', '-r', '-s', system], { env: offlineNixEnv() });
  return out.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [path, size] = line.trim().split(/\s+/);
      return { path: path as string, narSize: Number(size) };
    });
}

function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(fleet_host_(?:download|fetch)_\w+)\{[^}]*\} (\d+)$/.exec(line);
    if (match) values.set(match[1] as string, Number(match[2]));
  }
  return values;
}

describe('pull agent download progress', () => {
  let bed: AgentBed;
  let v1: string;
  let v2: string;
  let closure: ClosurePath[];

  const host = (i: number) => bed.host(i);
  const outputs = (h: SimulatedHost) => ({ dir: join(h.root, 'text-files'), prom: join(h.root, 'text-files', 'fleet.prom'), zabbix: join(h.root, 'fleet-zabbix.json') });
  const config = (h: SimulatedHost): AgentConfig => bed.config(h, { prometheusDir: outputs(h).dir, zabbixFile: outputs(h).zabbix });
  /** What the host still lacks of v2's closure, by its own store. */
  const missingOn = async (h: SimulatedHost) => {
    const present = await Promise.all(closure.map((p) => h.hasPath(p.path)));
    return closure.filter((_, i) => !present[i]);
  };
  const bytesOf = (paths: readonly ClosurePath[]) => paths.reduce((sum, p) => sum + p.narSize, 0);
  const metrics = async (h: SimulatedHost) => ({
    prom: samples(await readFile(outputs(h).prom, 'utf8')),
    zabbix: JSON.parse(await readFile(outputs(h).zabbix, 'utf8')) as Record<string, unknown>,
  });
  /** The NAR file the cache serves for a store path (its narinfo's URL). */
  const narUrlOf = async (path: string) => {
    const hash = path.slice('/nix/store/'.length, '/nix/store/'.length + 32);
    const narinfo = await (await fetch(`${bed.cache.url}/${hash}.narinfo`)).text();
    const url = /^URL: (.+)$/m.exec(narinfo)?.[1];
    if (!url) throw new Error(`no URL in ${hash}.narinfo`);
    return url;
  };

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 2, prefix: 'download' });
    ({ v1, v2 } = bed);
    closure = await closureOf(v2);
    for (const h of bed.fleet.hosts) await mkdir(outputs(h).dir, { recursive: true });
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('uploads what it still has to fetch before the fetch starts; once it runs the system nothing is pending', async () => {
    const h = host(0);
    const missing = await missingOn(h);
    // The new system shares part of its closure with the old one: only the rest is fetched.
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.length).toBeLessThan(closure.length);
    await bed.publish(h.name);

    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let narsHeld = 0;
    bed.proxy.configure({
      onRequest: async (_method, path): Promise<'forward'> => {
        if (path.includes('/nar/')) {
          narsHeld++;
          await held;
        }
        return 'forward';
      },
    });
    const run = runAgent(h, config(h));
    let during: HostStatusReport | undefined;
    try {
      for (let i = 0; i < 600 && !during?.download; i++) {
        during = await readReport(bed.store, h.name);
        if (!during?.download) await sleep(100);
      }
    } finally {
      release();
    }
    const result = await run;
    bed.proxy.configure({});
    expect(result.code).toBe(0);

    // The report came while the NARs were held: the fetch had not begun to land anything.
    expect(narsHeld).toBeGreaterThan(0);
    expect(during?.system).toBe(v1);
    expect(during?.download).toEqual({
      system: v2,
      paths: missing.length,
      bytes: bytesOf(missing),
      totalPaths: closure.length,
      totalBytes: bytesOf(closure),
      measuredAt: expect.any(Date),
    });
    expect(during?.lastError).toBeNull();

    expect(await h.currentSystem()).toBe(v2);
    const after = await readReport(bed.store, h.name);
    expect(after?.system).toBe(v2);
    expect(after?.download).toBeUndefined();
    const { prom, zabbix } = await metrics(h);
    expect(prom.get('fleet_host_download_paths_remaining')).toBe(0);
    expect(prom.get('fleet_host_download_bytes_remaining')).toBe(0);
    expect(prom.has('fleet_host_download_bytes_total')).toBe(false);
    expect(zabbix).toMatchObject({ download_paths_remaining: 0, download_bytes_remaining: 0 });
  });

  it('a fetch refused part way: the report and both metrics files say what is left, the NARs fetched are kept, the next run fetches only the rest', async () => {
    const h = host(1);
    const missing = await missingOn(h);
    await bed.publish(h.name);
    // The system's own NAR is refused (it is fetched last: every other path is its reference).
    const refused = await narUrlOf(v2);
    bed.proxy.configure({ failRate: 1, status: 403, path: new RegExp(refused.replace(/[.]/g, '\\.')) });
    const failed = await runAgent(h, config(h));
    bed.proxy.configure({});
    expect(failed.code).toBe(1);
    expect(await h.currentSystem()).toBe(v1);

    // The other NARs are staged (host/agent/fetch-closure.sh), not unpacked yet: only the system is left to fetch.
    expect((await missingOn(h)).map((p) => p.path).sort()).toEqual(missing.map((p) => p.path).sort());
    const left = closure.filter((p) => p.path === v2);
    const status = await readReport(bed.store, h.name);
    expect(status?.lastError).toContain(`could not fetch ${v2}`);
    expect(status?.download).toMatchObject({ system: v2, paths: 1, bytes: bytesOf(left), totalPaths: closure.length, totalBytes: bytesOf(closure) });
    expect(bytesOf(left)).toBeLessThan(bytesOf(missing));
    const { prom, zabbix } = await metrics(h);
    expect(Object.fromEntries(prom)).toEqual({
      fleet_host_download_paths_remaining: 1,
      fleet_host_download_bytes_remaining: bytesOf(left),
      fleet_host_download_bytes_total: bytesOf(closure),
      // The NARs that came measured the link, as the report says.
      fleet_host_fetch_bytes_per_second: status?.fetchBytesPerSecond,
    });
    expect(status?.fetchBytesPerSecond).toBeGreaterThan(0);
    expect(zabbix).toMatchObject({ download_paths_remaining: 1, download_bytes_remaining: bytesOf(left), fetch_bytes_per_second: status?.fetchBytesPerSecond });

    const before = bed.proxy.stats.log.length;
    const retry = await runAgent(h, config(h));
    expect(retry.code).toBe(0);
    const fetchedAgain = bed.proxy.stats.log.slice(before).filter((r) => r.method === 'GET' && r.path.includes('/nar/'));
    expect(fetchedAgain.map((r) => r.path)).toEqual([expect.stringContaining(refused)]);
    expect(await h.currentSystem()).toBe(v2);
    expect((await readReport(bed.store, h.name))?.download).toBeUndefined();
    expect((await metrics(h)).prom.get('fleet_host_download_paths_remaining')).toBe(0);
  });
});
