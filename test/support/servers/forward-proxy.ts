import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess } from '../../../src/util/exec.js';
import { startOnFreePort } from './daemon.js';

export const TINYPROXY = '/usr/bin/tinyproxy';
/** Where the proxy's own connections to servers come from. */
export const PROXY_SOURCE_ADDRESS = '127.0.0.1';

/** A request the proxy passed on: `GET http://127.0.0.1:8080/x.narinfo`, or `CONNECT host:443`. */
export interface ProxiedRequest {
  method: string;
  /** The absolute URL of a plain HTTP request, `host:port` of a CONNECT. */
  target: string;
}

export interface ForwardProxy {
  /** `http://127.0.0.1:PORT`: what http_proxy, https_proxy and HTTPS_PROXY take. */
  url: string;
  port: number;
  /** Every request it passed on so far, in order (its own log at LogLevel Connect). */
  requests(): ProxiedRequest[];
  stop(): Promise<void>;
}

/**
 * Debian's tinyproxy as the forward proxy of an enterprise network or a clinic: it passes on
 * plain HTTP requests (adding `Via: 1.1 tinyproxy`) and CONNECT tunnels, and logs each one. It runs
 * in the foreground (`-d`) as the caller's user, logging to its stdout, which is read here. With
 * `basicAuth` it answers 407 to requests without those credentials. Its connections to servers
 * leave from 127.0.0.1 (PROXY_SOURCE_ADDRESS): a server listening on a non-loopback address sees
 * a client's direct connection come from that address instead, tunnels (CONNECT) included.
 */
export async function startForwardProxy(options: { basicAuth?: { user: string; password: string } } = {}): Promise<ForwardProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-tinyproxy-'));
  const conf = join(dir, 'tinyproxy.conf');
  const auth = options.basicAuth ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`] : [];
  const daemon = await startOnFreePort({
    name: 'tinyproxy',
    dir,
    portTaken: /Address already in use|Unable to create listening socket/i,
    spawn: async (port) => {
      // Bind: its own connections leave from 127.0.0.1, so a server on another address tells them from direct ones.
      await writeFile(conf, ['Port ' + port, 'Listen 127.0.0.1', `Bind ${PROXY_SOURCE_ADDRESS}`, 'Timeout 600', 'LogLevel Connect', 'MaxClients 200', 'Allow 127.0.0.1', ...auth, ''].join('\n'));
      return spawnProcess(TINYPROXY, ['-d', '-c', conf]);
    },
  });
  return {
    url: `http://127.0.0.1:${daemon.port}`,
    port: daemon.port,
    requests: () => [...daemon.output().matchAll(/^CONNECT\s.*\]: Request \(file descriptor \d+\): (\S+) (\S+) HTTP\/[\d.]+$/gm)].map((m) => ({ method: m[1] as string, target: m[2] as string })),
    stop: () => daemon.stop(),
  };
}
