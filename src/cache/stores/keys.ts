import { StoreError } from './store-error.js';

/**
 * Checks a cache key (`nar/x.nar.zst`, `fleet/prod/web-1.json`): relative, `/`-separated, no
 * empty, `.` or `..` segments, no backslashes or control characters. Keys become file paths
 * and URL paths, so a key must never climb out of the cache root.
 */
export function assertValidKey(key: string, where: string): void {
  const problem = keyProblem(key);
  if (problem) {
    throw new StoreError(`Invalid cache key ${JSON.stringify(key)} for ${where}: ${problem}`, {
      key,
      hint: 'Keys are relative paths such as "nix-cache-info", "<hash>.narinfo" or "nar/<hash>.nar.zst"',
    });
  }
}

/** Like `assertValidKey` for a list prefix, which may be empty or end with `/`. */
export function assertValidPrefix(prefix: string, where: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, where);
}

/** Why `key` is not a valid cache key, or undefined when it is. */
export function keyProblem(key: string): string | undefined {
  if (key === '') return 'it is empty';
  if (key.startsWith('/')) return 'it starts with "/"';
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(key)) return 'it contains a backslash or a control character';
  const segments = key.split('/');
  if (segments.some((s) => s === '')) return 'it has an empty path segment';
  if (segments.some((s) => s === '.' || s === '..')) return 'it has a "." or ".." segment';
  return undefined;
}

/** Encodes each segment of a key for a URL path, keeping the slashes. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Listed objects in key order, as every store's `list` returns them. */
export function sortedByKey<T extends { key: string }>(objects: T[]): T[] {
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
