import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readReport } from '../../src/deploy/pull/index.js';
import { startForwardProxy, type ForwardProxy } from '../support/servers/index.js';
import { narsToFetch, runAgent, startAgentBed, type AgentBed, type CachedNar } from './deploy-pull-fixture.js';

/**
 * The pull agent on a clinic's link, for real: behind a forward proxy (Debian's tinyproxy), with a
 * site cache that is reached without it (no_proxy), and with a bandwidth limit. The variables are
 * the ones services.fleet-agent sets from `proxy`, `noProxy` and `bandwidthLimit`
 * (deploy-pull-module.test.ts checks that mapping); the agent's curl and its Nix read them.
 */
describe('pull agent: proxies and a bandwidth limit', () => {
  let bed: AgentBed;
  let proxy: ForwardProxy;
  let nars: CachedNar[];

  const proxyEnv = (noProxy = '') => ({ http_proxy: proxy.url, https_proxy: proxy.url, no_proxy: noProxy });
  /** What the cache (behind the fault proxy) saw from now on. */
  const cacheRequestsSince = (from: number) => bed.proxy.stats.log.slice(from);
  const storePort = () => new URL(bed.config(bed.host(0)).storeUrl).port;
  const throughProxySince = (from: number) => proxy.requests().slice(from);
  /** The NAR part of a NAR URL as the cache logs its path. */
  const narPaths = () => nars.map((nar) => `/${nar.url}`).sort();

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 4, prefix: 'link' });
    proxy = await startForwardProxy();
    nars = await narsToFetch(bed);
  });

  afterAll(async () => {
    await proxy?.stop();
    await bed?.stop();
  });

  it('fetches the manifest, every narinfo and NAR, and uploads its report, all through the proxy', async () => {
    const h = bed.host(0);
    await bed.publish(h.name);
    const [cacheFrom, proxyFrom] = [bed.proxy.stats.log.length, proxy.requests().length];

    const result = await runAgent(h, bed.config(h), 'run', proxyEnv());
    expect(result.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    expect((await readReport(bed.store, h.name))?.system).toBe(bed.v2);

    // Nothing reached the cache directly: every request it saw came through tinyproxy (its Via header).
    const cacheSaw = cacheRequestsSince(cacheFrom);
    expect(cacheSaw.filter((r) => r.path.startsWith('/nar/')).map((r) => r.path).sort()).toEqual(narPaths());
    expect(cacheSaw.filter((r) => !/tinyproxy/.test(String(r.headers.via)))).toEqual([]);
    // The proxy passed on the manifest store's requests too: the pointer, the manifest, the report's upload.
    const viaProxy = throughProxySince(proxyFrom);
    const toStore = viaProxy.filter((r) => new URL(r.target).port === storePort());
    expect(toStore.some((r) => r.method === 'GET' && r.target.includes(h.name))).toBe(true);
    expect(toStore.some((r) => r.method === 'PUT' && r.target.includes(h.name))).toBe(true);
    expect(viaProxy.filter((r) => new URL(r.target).port === String(bed.proxy.port))).toHaveLength(cacheSaw.length);
  });

  it('reaches a site cache named in no_proxy directly while the rest goes through the proxy', async () => {
    const h = bed.host(1);
    await bed.publish(h.name);
    const [cacheFrom, proxyFrom] = [bed.proxy.stats.log.length, proxy.requests().length];
    // The cache by another name (localhost), as a site cache on the LAN has its own.
    const siteCache = `http://localhost:${bed.proxy.port}`;

    const result = await runAgent(h, bed.config(h, { substituters: siteCache }), 'run', proxyEnv('localhost'));
    expect(result.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);

    const cacheSaw = cacheRequestsSince(cacheFrom);
    expect(cacheSaw.filter((r) => r.path.startsWith('/nar/')).map((r) => r.path).sort()).toEqual(narPaths());
    expect(cacheSaw.filter((r) => r.headers.via !== undefined)).toEqual([]);
    const viaProxy = throughProxySince(proxyFrom);
    expect(viaProxy.filter((r) => r.target.includes('localhost'))).toEqual([]);
    expect(viaProxy.filter((r) => new URL(r.target).port === storePort()).length).toBeGreaterThan(0);
  });

  it('keeps the closure under the bandwidth limit, NARs small and large alike', async () => {
    const h = bed.host(2);
    await bed.publish(h.name);
    const limit = 16 * 1024;
    const bytes = nars.reduce((sum, nar) => sum + nar.fileSize, 0);
    // Unlimited on loopback this takes milliseconds (Debian's curl 7.88 with --limit-rate alone: under a
    // second). At the limit it cannot take less than bytes / limit, less the agent's whole-second clock. A
    // busy machine only makes it longer, so this one-sided bound cannot fail from load.
    const floorMs = (bytes / limit) * 1000;
    expect(floorMs).toBeGreaterThan(5000);

    const started = Date.now();
    const result = await runAgent(h, bed.config(h), 'run', { FLEET_AGENT_BANDWIDTH_LIMIT: '16k' });
    const tookMs = Date.now() - started;
    expect(result.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    expect(tookMs).toBeGreaterThan(floorMs - 2000);
    // The agent's own measure of its link (the status report's fetchBytesPerSecond) is the limit at most,
    // give or take its whole-second clock.
    const measured = (await readReport(bed.store, h.name))?.fetchBytesPerSecond ?? 0;
    expect(measured).toBeGreaterThan(0);
    expect(measured).toBeLessThanOrEqual(limit * (floorMs / (floorMs - 1000)));
  });

  it('under the limit, a link cut mid-NAR costs only the bytes in flight: the next run asks for the rest', async () => {
    const h = bed.host(3);
    await bed.publish(h.name);
    const big = nars[0] as CachedNar;
    const limited = { FLEET_AGENT_BANDWIDTH_LIMIT: '16k' };
    const cutAt = 50_000;
    expect(big.fileSize).toBeGreaterThan(4 * 16 * 1024);
    const from = bed.proxy.stats.log.length;
    bed.proxy.configure({ failRate: 1, cutAfterBytes: cutAt, methods: ['GET'], path: new RegExp(big.url.replace(/[.]/g, '\\.')) });
    const cut = await runAgent(h, bed.config(h), 'run', limited);
    bed.proxy.configure({});
    expect(cut.code).toBe(1);
    expect(await h.currentSystem()).toBe(bed.v1);
    expect((await readReport(bed.store, h.name))?.lastError).toContain(`${cutAt} bytes kept, the next run continues from there`);

    const retried = bed.proxy.stats.log.length;
    const result = await runAgent(h, bed.config(h), 'run', limited);
    expect(result.code).toBe(0);
    expect(await h.currentSystem()).toBe(bed.v2);
    const asked = (since: number, to = bed.proxy.stats.log.length) =>
      bed.proxy.stats.log.slice(since, to).filter((r) => r.path === `/${big.url}`).map((r) => r.headers.range);
    // Four seconds' worth at the limit a request: the cut one, then the rest from where it stopped, range
    // after range until one comes back short (or, ending on a whole range, one that asks past the end).
    const piece = 4 * 16 * 1024;
    const rest: string[] = [];
    for (let at = cutAt; ; at += piece) {
      rest.push(`bytes=${at}-${at + piece - 1}`);
      if (at + piece > big.fileSize) break;
    }
    expect(asked(from, retried)).toEqual([`bytes=0-${piece - 1}`]);
    expect(asked(retried)).toEqual(rest);
  });
});
