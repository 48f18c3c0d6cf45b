import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startFaultProxy, startNginxCache, startS3rver, type FaultProxy } from '../support/servers/index.js';

/** The test servers themselves: they start in parallel, serve, and leave nothing behind. */

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('startNginxCache', () => {
  test('two instances run side by side as this user, and stop without leftovers', async () => {
    const [a, b] = await Promise.all([startNginxCache(), startNginxCache()]);
    expect(a.port).not.toBe(b.port);
    for (const nginx of [a, b]) {
      const put = await fetch(`${nginx.url}/deep/path/obj.narinfo`, { method: 'PUT', body: 'hello' });
      expect(put.status).toBe(201);
      expect(await (await fetch(`${nginx.url}/deep/path/obj.narinfo`)).text()).toBe('hello');
      // single-process nginx keeps our user (root here): no switch to nobody, files are ours
      expect((await stat(join(nginx.root, 'deep', 'path', 'obj.narinfo'))).uid).toBe(process.getuid?.());
      const listing = (await (await fetch(`${nginx.url}/deep/`)).json()) as { name: string; type: string }[];
      expect(listing).toEqual([expect.objectContaining({ name: 'path', type: 'directory' })]);
      expect((await fetch(`${nginx.url}/deep/path/obj.narinfo`, { method: 'DELETE' })).status).toBe(204);
    }
    await Promise.all([a.stop(), b.stop()]);
    for (const nginx of [a, b]) {
      expect(await refused(nginx.port)).toBe(true);
      expect(existsSync(nginx.dir)).toBe(false);
    }
  });
});

describe('startS3rver', () => {
  test('serves the bucket to anonymous readers and stops cleanly', async () => {
    const s3 = await startS3rver({ bucket: 'harness-check' });
    expect(s3.url).toBe(`${s3.endpoint}/harness-check`);
    expect(s3.cacheUrl).toBe(`s3://harness-check?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1`);
    // an unsigned PUT/GET, like Nix reading a public bucket
    expect((await fetch(`${s3.url}/nix-cache-info`, { method: 'PUT', body: 'StoreDir: /nix/store\n' })).status).toBe(200);
    expect(await (await fetch(`${s3.url}/nix-cache-info`)).text()).toBe('StoreDir: /nix/store\n');
    expect((await fetch(`${s3.url}/missing.narinfo`, { method: 'HEAD' })).status).toBe(404);
    const port = Number(new URL(s3.endpoint).port);
    await s3.stop();
    expect(await refused(port)).toBe(true);
    expect(existsSync(s3.directory)).toBe(false);
  });
});

describe('startFaultProxy', () => {
  let target: Awaited<ReturnType<typeof startNginxCache>>;
  const proxies: FaultProxy[] = [];

  beforeAll(async () => {
    target = await startNginxCache();
    await fetch(`${target.url}/obj`, { method: 'PUT', body: 'x'.repeat(10_000) });
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await target?.stop();
  });

  async function proxy(options: Parameters<typeof startFaultProxy>[1]): Promise<FaultProxy> {
    const p = await startFaultProxy(target.url, options);
    proxies.push(p);
    return p;
  }

  async function statuses(p: FaultProxy, count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((await fetch(`${p.url}/obj`)).status);
    return out;
  }

  test('faults a deterministic share of requests: same seed, same faults', async () => {
    const [one, two, other] = await Promise.all([proxy({ failRate: 0.25, seed: 7 }), proxy({ failRate: 0.25, seed: 7 }), proxy({ failRate: 0.25, seed: 8 })]);
    const first = await statuses(one, 120);
    expect(await statuses(two, 120)).toEqual(first);
    expect(await statuses(other, 120)).not.toEqual(first);
    const faulted = first.filter((s) => s === 503).length;
    expect(faulted).toBe(one.stats.injected.status);
    expect(faulted).toBeGreaterThan(15);
    expect(faulted).toBeLessThan(45);
    expect(first.filter((s) => s === 200).length).toBe(120 - faulted);
  });

  test('SlowDown answers look like S3\'s', async () => {
    const p = await proxy({ failRate: 1, s3SlowDown: true });
    const res = await fetch(`${p.url}/obj`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(await res.text()).toMatch(/<Error><Code>SlowDown<\/Code><Message>Please reduce your request rate\.<\/Message>/);
    expect(p.stats.injected.slowDown).toBe(1);
  });

  test('a cut download delivers part of the body, then drops the connection', async () => {
    const p = await proxy({ failRate: 1, cutAfterBytes: 1000 });
    const res = await fetch(`${p.url}/obj`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(p.stats.injected.cut).toBe(1);
    expect(p.stats.responseBodyBytes).toBe(1000);
  });

  test('a link that goes down drops every open connection, mid-body and idle, and the next request gets through', async () => {
    await fetch(`${target.url}/big`, { method: 'PUT', body: Buffer.alloc(1 << 20, 7) });
    const p = await proxy({ linkBytesPerSecond: 64 * 1024 });
    await (await fetch(`${p.url}/obj`)).text();
    const res = await fetch(`${p.url}/big`);
    expect(res.status).toBe(200);
    const body = res.arrayBuffer();
    // Every connection opened so far is still open (keep-alive), the idle one included.
    expect(p.cutConnections()).toBe(p.stats.connections);
    await expect(body).rejects.toThrow();
    expect(p.stats.responseBodyBytes).toBeLessThan(10_000 + (1 << 20));
    expect(await (await fetch(`${p.url}/obj`)).text()).toBe('x'.repeat(10_000));
  });

  test('latency is added to every request; faults can be limited and changed', async () => {
    const p = await proxy({ latencyMs: 20, failRate: 1, status: 500, methods: ['PUT'] });
    expect((await fetch(`${p.url}/obj`)).status).toBe(200);
    expect((await fetch(`${p.url}/obj`, { method: 'PUT', body: 'y' })).status).toBe(500);
    p.configure({ latencyMs: 20 });
    expect((await fetch(`${p.url}/obj`, { method: 'PUT', body: 'y' })).status).toBe(204);
    expect(p.stats.delayed).toBe(3);
    expect(p.stats.injected.status).toBe(1);
    expect(p.stats.log.map((r) => `${r.method} ${r.fault ?? '-'}`)).toEqual(['GET -', 'PUT status', 'PUT -']);
  });
});
