import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assumeRoleWithWebIdentity, getWebIdentityToken } from '../../src/aws/index.js';
import { openStore } from '../../src/cache/open-store.js';
import { createGitHubClient } from '../../src/github/client.js';
import { exec } from '../../src/util/exec.js';
import { memoryLog } from '../../src/util/log.js';
import { proxySecrets } from '../../src/util/proxy.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { offlineNixEnv } from '../support/nix.js';
import { startOidcIssuer, startSts, type OidcIssuer, type StsEmulator } from '../support/oidc/index.js';
import {
  nonLoopbackAddress,
  PROXY_SOURCE_ADDRESS,
  startFaultProxy,
  startForwardProxy,
  startNginxCache,
  startS3rver,
  type FaultProxy,
  type ForwardProxy,
  type NginxCacheHandle,
  type RequestVerdict,
  type S3rverHandle,
} from '../support/servers/index.js';

/**
 * Every client fleet opens, behind a real forward proxy (Debian's tinyproxy) as on a self-hosted
 * runner in an enterprise network: HTTP caches, S3, the OIDC token request, STS, GitHub's REST and
 * GraphQL, and Nix run as our child. Each server sits behind a gate on a non-loopback address
 * (loopback never takes a proxy) that refuses, with a 403, any connection that did not come from
 * tinyproxy (whose connections leave from 127.0.0.1; a direct one comes from the gate's own
 * address): a client that ignored the proxy fails here, plain requests and CONNECT tunnels alike.
 */
const ROLE = 'arn:aws:iam::123456789012:role/fleet-cache';

describe('every client through the forward proxy', () => {
  let proxy: ForwardProxy;
  let authProxy: ForwardProxy;
  let nginx: NginxCacheHandle;
  let s3: S3rverHandle;
  let issuer: OidcIssuer;
  let sts: StsEmulator;
  let github: GitHubEmulator;
  const gates: FaultProxy[] = [];
  const saved = { ...process.env };

  const throughProxyOnly = (_method: string, _path: string, from: { remoteAddress: string | undefined }): RequestVerdict =>
    from.remoteAddress?.replace(/^::ffff:/, '') === PROXY_SOURCE_ADDRESS ? 'forward' : 'refuse';
  const gate = async (target: string) => {
    const opened = await startFaultProxy(target, { onRequest: throughProxyOnly }, { listenOn: nonLoopbackAddress() });
    gates.push(opened);
    return opened;
  };
  const useProxy = (url: string) => {
    for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) delete process.env[name];
    // The uppercase forms only: the runner's documentation shows those, and libcurl ignores HTTP_PROXY.
    process.env.HTTP_PROXY = url;
    process.env.HTTPS_PROXY = url;
  };
  /** What the proxy passed on to a gate: plain requests (absolute URLs) and tunnels (CONNECT host:port). */
  const requestsTo = (p: ForwardProxy, g: FaultProxy) => p.requests().filter((r) => r.target.startsWith(`${g.endpoint}/`) || r.target === new URL(g.endpoint).host);

  beforeAll(async () => {
    [proxy, authProxy, nginx, s3, issuer] = await Promise.all([
      startForwardProxy(),
      startForwardProxy({ basicAuth: { user: 'runner', password: 'pr0xy-s3cret' } }),
      startNginxCache(),
      startS3rver(),
      startOidcIssuer({ claims: { environment: 'production' } }),
    ]);
    sts = await startSts({ issuer, trustPolicy: [{ roleArn: ROLE, subjectPatterns: ['repo:acme/fleet:*'] }] });
    github = await startGitHubEmulator({ owner: 'acme', repo: 'fleet', defaultBranch: 'main' });
  });

  beforeEach(() => useProxy(proxy.url));

  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  afterAll(async () => {
    await Promise.all([...gates.map((g) => g.stop()), proxy?.stop(), authProxy?.stop(), nginx?.stop(), s3?.stop(), sts?.stop(), issuer?.stop(), github?.stop()]);
  });

  it('the HTTP cache store (node:http) writes and reads through it', async () => {
    const cache = await gate(nginx.url);
    const store = openStore(cache.url);
    try {
      await store.put('nix-cache-info', Buffer.from('StoreDir: /nix/store\n'), 'text/x-nix-cache-info');
      expect((await store.get('nix-cache-info'))?.toString()).toBe('StoreDir: /nix/store\n');
    } finally {
      await store.close();
    }
    expect(cache.stats.log.filter((r) => r.refused)).toEqual([]);
    expect(requestsTo(proxy, cache).map((r) => r.method)).toEqual(expect.arrayContaining(['PUT', 'GET']));
  });

  it('the S3 store (the AWS SDK) writes and reads through it', async () => {
    const endpoint = await gate(s3.endpoint);
    const url = new URL(s3.cacheUrl.replace(/^s3:/, 'http:'));
    url.searchParams.set('endpoint', endpoint.endpoint);
    const store = openStore(url.href.replace(/^http:/, 's3:'), { credentials: s3.credentials });
    try {
      await store.put('proxied.txt', Buffer.from('through tinyproxy'), 'text/plain');
      expect((await store.get('proxied.txt'))?.toString()).toBe('through tinyproxy');
    } finally {
      await store.close();
    }
    expect(endpoint.stats.log.filter((r) => r.refused)).toEqual([]);
    expect(requestsTo(proxy, endpoint).length).toBeGreaterThanOrEqual(2);
  });

  it('the OIDC token request and STS (the AWS SDK) trade a token for credentials through it', async () => {
    const [tokenGate, stsGate] = [await gate(issuer.env.ACTIONS_ID_TOKEN_REQUEST_URL), await gate(sts.endpoint)];
    const requestUrl = new URL(issuer.env.ACTIONS_ID_TOKEN_REQUEST_URL);
    const env = {
      ...process.env,
      ACTIONS_ID_TOKEN_REQUEST_URL: `${tokenGate.endpoint}${requestUrl.pathname}${requestUrl.search}`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
      AWS_ENDPOINT_URL_STS: stsGate.endpoint,
    };
    const token = await getWebIdentityToken('sts.amazonaws.com', { env, attempts: 1 });
    const role = await assumeRoleWithWebIdentity({ roleArn: ROLE, region: 'eu-central-1' }, { env, getIdToken: async () => token });
    expect(role.credentials.accessKeyId).toBeTruthy();
    for (const g of [tokenGate, stsGate]) {
      expect(g.stats.log.filter((r) => r.refused)).toEqual([]);
      expect(requestsTo(proxy, g).length).toBeGreaterThanOrEqual(1);
    }
  });

  it("GitHub's REST and GraphQL APIs (Octokit) answer through it", async () => {
    const api = await gate(github.apiUrl);
    const client = createGitHubClient({ token: github.token, baseUrl: api.url, graphqlUrl: `${api.url}/graphql`, log: memoryLog(), attempts: 1 });
    const { data } = await client.octokit.rest.repos.get({ owner: 'acme', repo: 'fleet' });
    expect(data.default_branch).toBe('main');
    const answer = await client.graphql<{ repository: { name: string } }>('query { repository(owner: "acme", name: "fleet") { name } }');
    expect(answer.repository.name).toBe('fleet');
    expect(api.stats.log.filter((r) => r.refused)).toEqual([]);
    expect(api.stats.log.map((r) => r.method)).toEqual(expect.arrayContaining(['GET', 'POST']));
    // undici's ProxyAgent tunnels (CONNECT) to http servers too, as it must for https ones.
    expect(requestsTo(proxy, api).map((r) => r.method)).toContain('CONNECT');
  });

  it('Nix, run as our child, pushes through it though only HTTP_PROXY is set (libcurl reads http_proxy)', async () => {
    const cache = await gate(nginx.url);
    const dir = await mkdtemp(join(tmpdir(), 'fleet-proxy-nix-'));
    try {
      await writeFile(join(dir, 'hello.txt'), `through the proxy ${Date.now()}\n`);
      const path = (await exec('nix-store', ['--add', join(dir, 'hello.txt')], { env: offlineNixEnv() })).stdout.trim();
      await exec('nix', ['copy', '--to', cache.url, path], { env: offlineNixEnv(), timeoutMs: 60_000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(cache.stats.log.filter((r) => r.refused)).toEqual([]);
    expect(requestsTo(proxy, cache).filter((r) => r.method === 'PUT' && r.target.endsWith('.narinfo'))).toHaveLength(1);
  });

  it('NO_PROXY sends a host direct, which the gate refuses: the setting is honoured', async () => {
    const cache = await gate(nginx.url);
    process.env.NO_PROXY = `other.example.org,${new URL(cache.endpoint).hostname}`;
    const store = openStore(cache.url);
    try {
      await expect(store.put('nix-cache-info', Buffer.from('StoreDir: /nix/store\n'), 'text/x-nix-cache-info')).rejects.toThrow(/403/);
    } finally {
      await store.close();
    }
    expect(requestsTo(proxy, cache)).toEqual([]);
  });

  it('a proxy that asks for credentials gets those in its URL, and the password is kept for masking', async () => {
    const [cache, api] = [await gate(nginx.url), await gate(github.apiUrl)];
    const withCredentials = new URL(authProxy.url);
    withCredentials.username = 'runner';
    withCredentials.password = 'pr0xy-s3cret';
    useProxy(withCredentials.href);
    expect(proxySecrets()).toContain('pr0xy-s3cret');

    const store = openStore(cache.url);
    try {
      await store.put('nix-cache-info', Buffer.from('StoreDir: /nix/store\n'), 'text/x-nix-cache-info');
    } finally {
      await store.close();
    }
    const client = createGitHubClient({ token: github.token, baseUrl: api.url, log: memoryLog(), attempts: 1 });
    expect((await client.octokit.rest.repos.get({ owner: 'acme', repo: 'fleet' })).data.name).toBe('fleet');
    expect(requestsTo(authProxy, cache).length + requestsTo(authProxy, api).length).toBeGreaterThanOrEqual(2);

    // Wrong credentials (tinyproxy 1.11.1 answers those 401, later ones 407): the error names the proxy, not its password.
    withCredentials.password = 'wrong-password';
    useProxy(withCredentials.href);
    const refused = openStore(cache.url);
    try {
      const error = (await refused.get('nix-cache-info').catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/HTTP 40[17]/);
      expect(error.message).toContain(`proxy http://runner:***@127.0.0.1:${authProxy.port}/`);
      expect(error.message).not.toContain('wrong-password');
    } finally {
      await refused.close();
    }
  });
});
