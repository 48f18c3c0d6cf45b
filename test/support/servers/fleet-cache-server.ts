import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../../src/util/exec.js';
import { startNginxCache, type NginxCacheHandle } from './nginx.js';

/** host/cache-server: what the NixOS module fleet-cache-server.nix ships. */
export const CACHE_SERVER_DIR = fileURLToPath(new URL('../../../host/cache-server/', import.meta.url));
export const CACHE_CREDENTIALS = join(CACHE_SERVER_DIR, 'fleet-cache-credentials.sh');

/** The module's nginx config: host/cache-server's file with @runtimeDir@ filled in. */
export async function shippedCacheServerConfig(file: 'nginx-http.conf' | 'nginx-server.conf', runtimeDir: string): Promise<string> {
  return (await readFile(join(CACHE_SERVER_DIR, file), 'utf8')).replaceAll('@runtimeDir@', runtimeDir);
}

/**
 * Starts nginx with exactly the configuration the module gives it (plus the
 * map_hash_bucket_size the module sets through services.nginx), on the runtime files in
 * `runtimeDir` (report-tokens.map, writers.htpasswd) as the module's credentials service writes them.
 */
export async function startShippedCacheServer(runtimeDir: string): Promise<NginxCacheHandle> {
  return startNginxCache({
    httpConfig: `map_hash_bucket_size 128;\n${await shippedCacheServerConfig('nginx-http.conf', runtimeDir)}`,
    serverConfig: await shippedCacheServerConfig('nginx-server.conf', runtimeDir),
  });
}

export interface FleetCacheServer {
  nginx: NginxCacheHandle;
  /** `http://ci:PASSWORD@127.0.0.1:PORT`: the CI writer's cache URL. */
  writerUrl: string;
  /** A host's report token, as the operator prints it for the host's reportTokenFile. */
  token(host: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The self-hosted cache server for tests that need one whole: a fresh master secret, tokens for
 * `reportHosts`, one CI writer, all made by host/cache-server/fleet-cache-credentials.sh.
 */
export async function startFleetCacheServer(dir: string, reportHosts: readonly string[], writerPassword = 'ci-writer-password'): Promise<FleetCacheServer> {
  const runtimeDir = join(dir, 'run');
  await mkdir(runtimeDir, { recursive: true, mode: 0o750 });
  const secretFile = join(dir, 'report-secret');
  await writeFile(secretFile, (await exec('sh', [CACHE_CREDENTIALS, 'new-secret'])).stdout, { mode: 0o600 });
  await writeFile(join(dir, 'report-hosts'), reportHosts.map((h) => `${h}\n`).join(''));
  await exec('sh', [CACHE_CREDENTIALS, 'report-map', secretFile, join(dir, 'report-hosts'), join(runtimeDir, 'report-tokens.map')]);
  const hash = (await exec('openssl', ['passwd', '-6', '-stdin'], { input: writerPassword })).stdout.trim();
  await writeFile(join(dir, 'writers'), `ci:${hash}\n`, { mode: 0o600 });
  await exec('sh', [CACHE_CREDENTIALS, 'writers', join(dir, 'writers'), join(runtimeDir, 'writers.htpasswd')]);
  const nginx = await startShippedCacheServer(runtimeDir);
  return {
    nginx,
    writerUrl: `http://ci:${encodeURIComponent(writerPassword)}@127.0.0.1:${nginx.port}`,
    token: async (host) => (await exec('sh', [CACHE_CREDENTIALS, 'token', secretFile, host])).stdout.trim(),
    stop: () => nginx.stop(),
  };
}
