import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess } from '../../../src/util/exec.js';
import { freePort, waitForPort } from './ports.js';

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
  let lastError = '';
  // The port is chosen before nginx binds it, so another process may take it first: retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, nginxConfig({ dir, root, bodyTempDir, port, extra: options.extraServerConfig ?? '', ...(options.serverConfig === undefined ? {} : { server: options.serverConfig }), http: options.httpConfig ?? '' }));
    const child = spawnProcess(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'startup.log')]);
    let stderr = '';
    let exited: string | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();
    const exit = new Promise<void>((resolve) => child.once('close', (code, signal) => {
      exited = `nginx exited (${signal ?? code}) before listening: ${stderr.trim()}`;
      resolve();
    }));
    try {
      await waitForPort(port, { gaveUp: () => exited });
    } catch (error) {
      child.kill('SIGKILL');
      await exit;
      const startup = await readFile(join(dir, 'startup.log'), 'utf8').catch(() => '');
      lastError = `${error instanceof Error ? error.message : String(error)} ${startup}`.trim();
      if (/Address already in use/.test(lastError)) continue;
      break;
    }
    const handle: NginxCacheHandle = {
      url: `http://127.0.0.1:${port}`,
      port,
      root,
      dir,
      bodyTempDir,
      errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
      accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
      stop: async () => {
        if (exited === undefined) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exit;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
    return handle;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`could not start nginx: ${lastError}`);
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
