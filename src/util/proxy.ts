import type { AgentOptions } from 'node:http';
import { getProxyUrl } from '@actions/http-client/lib/proxy';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { UserError } from './errors.js';

/**
 * The forward proxy of self-hosted runners and enterprise networks, for every client fleet opens
 * (GitHub REST and GraphQL, the OIDC token request, STS, S3, HTTP caches). Which requests take
 * it follows `@actions/http-client`, as the runner and actions/cache do: `https_proxy`/`HTTPS_PROXY`
 * for https, `http_proxy`/`HTTP_PROXY` for http (never the one for the other), `no_proxy`/`NO_PROXY`
 * (hosts, `.suffix`, `host:port`, `*`), and loopback always direct.
 */

/** The proxy a request to `url` goes through; undefined: it goes direct. */
export function proxyFor(url: string | URL): URL | undefined {
  return getProxyUrl(typeof url === 'string' ? new URL(url) : url);
}

/** Node 24.5 added proxies to node:http's Agent (`proxyEnv`); older Node would ignore the option. */
const NODE_PROXY_SUPPORT: readonly [number, number] = [24, 5];

function nodeHasProxySupport(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > NODE_PROXY_SUPPORT[0] || (major === NODE_PROXY_SUPPORT[0] && minor >= NODE_PROXY_SUPPORT[1]);
}

/**
 * What a node:http(s) Agent for requests to `url`'s origin needs to go through its proxy (Node's
 * own proxy support: absolute URLs for http, CONNECT for https; credentials in the proxy URL become
 * Proxy-Authorization). Nothing when the origin is reached direct.
 */
export function agentProxyOptions(url: string | URL): Pick<AgentOptions, 'proxyEnv'> {
  const proxy = proxyFor(url);
  if (!proxy) return {};
  if (!nodeHasProxySupport()) {
    throw new UserError(
      `${redactProxyUrl(proxy)} is set as the proxy for ${new URL(url).host}, but this runner's Node ${process.versions.node} cannot use a proxy for node:http (Node 24.5 or later can). Update the runner, or list the host in NO_PROXY if it is reached without the proxy.`,
    );
  }
  return { proxyEnv: { HTTP_PROXY: proxy.href, HTTPS_PROXY: proxy.href } };
}

const dispatchers = new Map<string, ProxyAgent>();

function dispatcherFor(proxy: URL): ProxyAgent {
  let dispatcher = dispatchers.get(proxy.href);
  if (!dispatcher) {
    // @actions/http-client hands back a URL whose username and password read decoded already.
    const credentials = proxy.username || proxy.password ? { token: `Basic ${Buffer.from(`${proxy.username}:${proxy.password}`).toString('base64')}` } : {};
    dispatcher = new ProxyAgent({ uri: `${proxy.protocol}//${proxy.host}`, ...credentials });
    dispatchers.set(proxy.href, dispatcher);
  }
  return dispatcher;
}

/** `fetch` that takes the proxy a request's URL calls for (undici's ProxyAgent); Octokit and the OIDC request use it. */
export const proxiedFetch: typeof fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  const proxy = proxyFor(url);
  if (!proxy) return fetch(input, init);
  return undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: dispatcherFor(proxy) }) as unknown as Promise<Response>;
};

/** A proxy URL as it may be shown: without its password. */
export function redactProxyUrl(proxy: URL): string {
  if (!proxy.password) return proxy.href;
  const shown = new URL(proxy.href);
  shown.password = '***';
  return shown.href;
}

/** The passwords of the proxies set in `env`, decoded and as written, for the runner to mask. */
export function proxySecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = new Set<string>();
  for (const name of ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY']) {
    const value = env[name];
    if (!value) continue;
    try {
      const { password } = new URL(value.includes('://') ? value : `http://${value}`);
      if (password) {
        secrets.add(password);
        secrets.add(decodeURIComponent(password));
      }
    } catch {
      // Not a URL: @actions/http-client and curl will not use it either.
    }
  }
  return [...secrets];
}

/**
 * The proxy settings for a child (Nix, git, ssh's helpers): libcurl, which Nix fetches with, reads
 * only the lowercase `http_proxy`, so the uppercase forms are copied down; loopback stays direct
 * for it as it does for fleet's own clients.
 */
export function childProxyEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const httpProxy = env.http_proxy || env.HTTP_PROXY;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY;
  if (!httpProxy && !httpsProxy) return {};
  const noProxy = [env.no_proxy || env.NO_PROXY, 'localhost,127.0.0.0/8,::1'].filter(Boolean).join(',');
  return { ...(httpProxy ? { http_proxy: httpProxy } : {}), ...(httpsProxy ? { https_proxy: httpsProxy } : {}), no_proxy: noProxy };
}
