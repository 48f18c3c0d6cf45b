import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../util/errors.js';
import { redactUrl } from '../../util/redact.js';
import { SSH_HOST, SSH_USER } from '../../util/ssh-names.js';
import type { HttpAuth } from './http.js';
import { s3DisplayUrl, type S3Location } from './s3.js';

/** Nix store parameters from the query string (`compression=zstd`, `secret-key=…`, `priority=40`). */
export type StoreParams = Record<string, string>;

/**
 * A validated cache URL. `url` never carries credentials; `auth` holds them (in memory only).
 * `nix-copy` marks SSH stores: not binary caches we write ourselves but targets for `nix copy`.
 */
export type CacheUrl =
  | { kind: 'file'; url: string; directory: string; params: StoreParams }
  | { kind: 'http'; url: string; auth?: HttpAuth; params: StoreParams }
  | { kind: 's3'; url: string; location: S3Location; params: StoreParams }
  | { kind: 'nix-copy'; url: string; scheme: 'ssh' | 'ssh-ng'; params: StoreParams; /** The URL as given, for `nix copy --to`. */ target: string };

/** Mount points of the kernel's own file systems. */
const KERNEL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];

const EXAMPLES = 's3://my-nix-cache?region=eu-west-1, https://cache.example.org, file:///srv/nix-cache';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export { redactUrl } from '../../util/redact.js';

/** A cache URL that cannot be used: what is wrong with it and a good one, for callers that name the input. */
export class CacheUrlError extends UserError {
  override name = 'CacheUrlError';
  constructor(
    /** Starts with the URL as shown (quoted, password hidden): `"ftp://x" uses the unsupported scheme…`. */
    readonly problem: string,
    readonly example: string,
  ) {
    super(`Cache URL ${problem} (example: ${example})`);
  }
}

/**
 * Parses and validates a binary cache URL. `env` supplies `AWS_ENDPOINT_URL_S3` (or
 * `AWS_ENDPOINT_URL`) for s3:// URLs without `endpoint=`.
 */
export function parseCacheUrl(input: string, env: NodeJS.ProcessEnv = process.env): CacheUrl {
  const text = input.trim();
  const shown = JSON.stringify(redactUrl(text));
  const fail = (problem: string, example = EXAMPLES): never => {
    throw new CacheUrlError(`${shown} ${problem}`, example);
  };
  if (text === '') fail('is empty');
  if (text.startsWith('/')) fail('is a path, not a URL; a directory cache is written as file:// plus the absolute path', `file://${text}`);
  if (/^(auto|daemon|local)$/.test(text)) fail('names the local Nix store, not a binary cache');
  const schemeMatch = /^([a-z][a-z0-9+.-]*):/i.exec(text);
  if (!schemeMatch) fail('has no scheme; it must start with s3://, http://, https:// or file://');
  const scheme = (schemeMatch?.[1] ?? '').toLowerCase();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a valid URL');
  }
  const params = Object.fromEntries(url.searchParams);

  switch (scheme) {
    case 'file': {
      if (url.host !== '' && url.host !== 'localhost') fail('must have an absolute path after file:// (three slashes)', `file:///${url.host}${url.pathname}`);
      const directory = fileURLToPath(new URL(`file://${url.pathname}`)).replace(/(.)\/+$/, '$1');
      if (!isAbsolute(directory) || directory === '/') fail('must name a directory other than /', 'file:///srv/nix-cache');
      const kernel = KERNEL_FILE_SYSTEMS.find((root) => directory === root || directory.startsWith(`${root}/`));
      const sharedMemory = directory === '/dev/shm' || directory.startsWith('/dev/shm/');
      // Their "files" block readers (pipes, devices, /proc/kmsg) or are generated on every read.
      if (kernel && !sharedMemory) fail(`is inside ${kernel}, which the kernel provides (devices, processes, settings): a cache needs a directory on a real disk`, 'file:///srv/nix-cache');
      return { kind: 'file', url: `file://${url.pathname.replace(/(.)\/+$/, '$1')}`, directory, params };
    }
    case 'http':
    case 'https': {
      if (!url.hostname) fail('has no host', 'https://cache.example.org');
      const auth = url.username || url.password
        ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
        : undefined;
      const path = url.pathname.replace(/\/+$/, '');
      return { kind: 'http', url: `${url.protocol}//${url.host}${path}`, ...(auth ? { auth } : {}), params };
    }
    case 's3': {
      const bucket = url.host;
      if (url.username || url.password) fail('carries credentials; S3 credentials come from the OIDC role or the AWS environment, never the URL', 's3://my-nix-cache?region=eu-west-1');
      if (!BUCKET_NAME.test(bucket)) fail(`has no valid bucket name ("${bucket}": 3-63 lowercase letters, digits, dots and hyphens)`, 's3://my-nix-cache?region=eu-west-1');
      const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
      if (prefix.split('/').some((s) => s === '.' || s === '..') || prefix.includes('//')) fail('has an invalid key prefix', 's3://my-nix-cache/prefix?region=eu-west-1');
      const region = params.region;
      if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) fail(`has an invalid region "${region}"`, 's3://my-nix-cache?region=eu-west-1');
      const endpointScheme = params.scheme ?? 'https';
      if (endpointScheme !== 'http' && endpointScheme !== 'https') fail(`has scheme=${endpointScheme}; use scheme=http or scheme=https`, 's3://my-nix-cache?endpoint=minio.example.org:9000&scheme=https');
      const endpoint = resolveEndpoint(params.endpoint, endpointScheme, env, fail);
      const location: S3Location = {
        bucket,
        prefix,
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        ...(params.profile ? { profile: params.profile } : {}),
      };
      return { kind: 's3', url: s3DisplayUrl(location), location, params };
    }
    case 'ssh':
    case 'ssh-ng': {
      if (!url.hostname) fail('has no host', 'ssh-ng://deploy@cache.example.org');
      // nix copy hands both to ssh's argv, where a leading "-" is an option (`-oProxyCommand=…`).
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (!SSH_HOST.test(host)) fail(`has the host "${host}", which ssh could read as an option or which needs quoting (letters, digits, ".", "-" and "_", not first "-")`, 'ssh-ng://deploy@cache.example.org');
      const user = decodeURIComponent(url.username);
      if (user && !SSH_USER.test(user)) fail(`has the user "${user}", which ssh could read as an option (letters, digits, ".", "-" and "_", starting with a letter)`, 'ssh-ng://deploy@cache.example.org');
      return { kind: 'nix-copy', url: redactUrl(text.replace(/\?.*$/, '')), scheme, params, target: text };
    }
    default:
      return fail(`uses the unsupported scheme "${scheme}://"; use s3://, http://, https:// or file:// (or ssh://, ssh-ng:// for nix copy)`);
  }
}

function resolveEndpoint(
  param: string | undefined,
  scheme: string,
  env: NodeJS.ProcessEnv,
  fail: (problem: string, example?: string) => never,
): string | undefined {
  const raw = param ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (!raw) return undefined;
  const full = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${scheme}://${raw}`;
  let endpoint: URL;
  try {
    endpoint = new URL(full);
  } catch {
    return fail(`has an invalid endpoint "${raw}"`, 's3://my-nix-cache?endpoint=minio.example.org:9000&scheme=https');
  }
  if ((endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') || !endpoint.hostname) {
    fail(`has an invalid endpoint "${raw}"`, 's3://my-nix-cache?endpoint=minio.example.org:9000&scheme=https');
  }
  if (endpoint.username || endpoint.password) fail('has credentials in its endpoint; pass them through the AWS environment instead');
  return `${endpoint.protocol}//${endpoint.host}${endpoint.pathname.replace(/\/+$/, '')}`;
}
