import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess } from '../../../src/util/exec.js';
import { startOnFreePort } from './daemon.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxCacheHandle {
  /** `http://127.0.0.1:PORT`: what Nix (`nix copy --to/--from`) and our HTTP store take. */
  url: string;
  port: number;
  /** The directory nginx serves and writes: cache objects appear here. */
  root: string;
  /** Everything else nginx writes (config, logs, request-body temp files). */
  dir: string;
  /** Where nginx spools request bodies before moving them into `root`. */
  bodyTempDir: string;
  errorLog(): Promise<string>;
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

export interface NginxCacheOptions {
  /** Extra `location` blocks inside the server (e.g. one that answers 403). */
  extraServerConfig?: string;
  /** Replaces the default read-write `location /` (and client_max_body_size) with this server-level config. */
  serverConfig?: string;
  /** Added at the http level (e.g. `map` blocks). */
  httpConfig?: string;
}

/**
 * Debian's nginx as a self-hosted binary cache: WebDAV PUT/DELETE with `create_full_put_path`,
 * unlimited bodies, JSON autoindex for listing. It runs in the foreground as one process
 * (`daemon off; master_process off;`) so it keeps the caller's user (root included) and stops
 * with its child process; all of its paths (pid, logs, temp) live in a fresh temp directory.
 */
export async function startNginxCache(options: NginxCacheOptions = {}): Promise<NginxCacheHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-nginx-'));
  const root = join(dir, 'root');
  const bodyTempDir = join(dir, 'tmp', 'body');
  await mkdir(root);
  await mkdir(join(dir, 'tmp'));
  const conf = join(dir, 'nginx.conf');
  const daemon = await startOnFreePort({
    name: 'nginx',
    dir,
    portTaken: /Address already in use/,
    startupLog: () => readFile(join(dir, 'startup.log'), 'utf8'),
    spawn: async (port) => {
      await writeFile(conf, nginxConfig({ dir, root, bodyTempDir, port, extra: options.extraServerConfig ?? '', ...(options.serverConfig === undefined ? {} : { server: options.serverConfig }), http: options.httpConfig ?? '' }));
      return spawnProcess(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'startup.log')]);
    },
  });
  return {
    url: `http://127.0.0.1:${daemon.port}`,
    port: daemon.port,
    root,
    dir,
    bodyTempDir,
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
    stop: () => daemon.stop(),
  };
}

const DEFAULT_SERVER = `
    client_max_body_size 0;

    location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      autoindex on;
      autoindex_format json;
    }`;

function nginxConfig(c: { dir: string; root: string; bodyTempDir: string; port: number; extra: string; server?: string; http: string }): string {
  const q = (path: string): string => JSON.stringify(path);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${q(join(c.dir, 'nginx.pid'))};
error_log ${q(join(c.dir, 'error.log'))} info;

events {
  worker_connections 512;
}

http {
  access_log ${q(join(c.dir, 'access.log'))};
  client_body_temp_path ${q(c.bodyTempDir)};
  proxy_temp_path ${q(join(c.dir, 'tmp', 'proxy'))};
  fastcgi_temp_path ${q(join(c.dir, 'tmp', 'fastcgi'))};
  uwsgi_temp_path ${q(join(c.dir, 'tmp', 'uwsgi'))};
  scgi_temp_path ${q(join(c.dir, 'tmp', 'scgi'))};
  types {
    text/x-nix-narinfo narinfo;
    application/json json;
  }
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 75s;
${c.http}

  server {
    listen 127.0.0.1:${c.port};
    root ${q(c.root)};
${c.server ?? DEFAULT_SERVER}
${c.extra}
  }
}
`;
}
