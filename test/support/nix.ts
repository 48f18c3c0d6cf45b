import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Nix } from '../../src/nix/nix.js';
import { exec, type ExecResult } from '../../src/util/exec.js';
import { memoryLog, type Log } from '../../src/util/log.js';

/** nix.conf lines for builds on this machine: flakes on, no sandbox, no substituters, no network. */
export const OFFLINE_NIX_CONFIG = [
  'experimental-features = nix-command flakes',
  'sandbox = false',
  'substituters =',
  'warn-dirty = false',
  // Paths read back from caches on ports that a later test may reuse must not hit stale lookups.
  'narinfo-cache-negative-ttl = 0',
  'narinfo-cache-positive-ttl = 0',
].join('\n');

/** Where every test file's Nix disk caches live; jest's global teardown removes it. */
export const NIX_CACHE_HOMES = join(tmpdir(), 'fleet-test-nix-cache');

/**
 * Nix remembers in ~/.cache/nix which binary caches exist (for days, whatever the narinfo TTLs say)
 * and then skips writing `nix-cache-info` to a "known" cache. Servers here listen on ports a later
 * run reuses, so each test file gets a disk cache of its own.
 */
const nixCacheHome = join(NIX_CACHE_HOMES, randomUUID());

/** process.env with NIX_CONFIG set for offline builds (plus `extraConfig` lines). */
export function offlineNixEnv(extraConfig = ''): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CACHE_HOME: nixCacheHome,
    NIX_CONFIG: [OFFLINE_NIX_CONFIG, extraConfig].filter(Boolean).join('\n'),
  };
}

/** A Nix configured for offline use; its log is kept in memory unless one is given. */
export function offlineNix(settings: { log?: Log; extraConfig?: string; store?: string; options?: Record<string, string> } = {}): Nix {
  return new Nix({
    log: settings.log ?? memoryLog(),
    env: offlineNixEnv(),
    extraConfig: settings.extraConfig,
    store: settings.store,
    options: settings.options,
  });
}

/** Runs `nix` (flakes enabled, offline) and returns its result without throwing. */
export function runNix(args: readonly string[], options: { extraConfig?: string; input?: string } = {}): Promise<ExecResult> {
  return exec('nix', args, { env: offlineNixEnv(options.extraConfig), allowFailure: true, input: options.input });
}

export interface CopyFromOptions {
  /** `name:base64` public keys the store trusts. */
  trustedPublicKeys: string | readonly string[];
  /** Refuse unsigned or wrongly signed paths (default true). */
  requireSigs?: boolean;
}

/** An empty Nix store in a temp directory (a chroot store), to read caches back with real Nix. */
export interface FreshStore {
  /** The store's root: give it as `--store DIR` or `nix copy --to DIR`. */
  dir: string;
  /** Where store paths really live: `${dir}/nix/store`. */
  realStoreDir: string;
  /** The file behind a `/nix/store/…` path inside this store. */
  realPath(storePath: string): string;
  /** A Nix bound to this store (`--store DIR`). */
  nix: Nix;
  /**
   * `nix copy --from CACHE --to DIR PATHS` with signatures checked against `trustedPublicKeys`.
   * Resolves with the result (code, stderr) so tests can assert refusals too.
   */
  copyFrom(cacheUrl: string, paths: readonly string[], options: CopyFromOptions): Promise<ExecResult>;
  /** Whether `storePath` is valid in this store. */
  has(storePath: string): Promise<boolean>;
  cleanup(): Promise<void>;
}

const created = new Set<string>();

export async function freshStore(): Promise<FreshStore> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-store-'));
  created.add(dir);
  const realStoreDir = join(dir, 'nix', 'store');
  return {
    dir,
    realStoreDir,
    realPath: (storePath) => join(dir, storePath),
    nix: offlineNix({ store: dir }),
    copyFrom: (cacheUrl, paths, options) => {
      const keys = typeof options.trustedPublicKeys === 'string' ? options.trustedPublicKeys : options.trustedPublicKeys.join(' ');
      return exec(
        'nix',
        [
          'copy',
          '--from', cacheUrl,
          '--to', dir,
          '--option', 'trusted-public-keys', keys,
          '--option', 'require-sigs', String(options.requireSigs ?? true),
          ...paths,
        ],
        { env: offlineNixEnv(), allowFailure: true },
      );
    },
    has: async (storePath) => {
      const result = await exec('nix-store', ['--store', dir, '--check-validity', storePath], { env: offlineNixEnv(), allowFailure: true });
      return result.code === 0;
    },
    cleanup: () => removeStore(dir),
  };
}

async function removeStore(dir: string): Promise<void> {
  // Store contents are read-only; make them writable so a non-root user can remove them too.
  await exec('chmod', ['-R', 'u+w', dir], { allowFailure: true });
  await rm(dir, { recursive: true, force: true });
  created.delete(dir);
}

/** Removes every store `freshStore` made in this process (for afterAll). */
export async function cleanupFreshStores(): Promise<void> {
  await Promise.all([...created].map(removeStore));
}

/** A temp directory holding a tiny flake, written from `files` (name → content). */
export async function writeFlake(files: Record<string, string>): Promise<{ dir: string; ref: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-flake-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return { dir, ref: `path:${dir}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Nix source for a `builtins.derivation` run by /bin/sh on this machine's coreutils. `script` becomes
 * a Nix string, so `${…}` in it interpolates (use it to reference other derivations).
 */
export function shDerivation(name: string, script: string, extra = ''): string {
  return `builtins.derivation { name = ${JSON.stringify(name)}; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; args = [ "-c" ${JSON.stringify(script)} ]; ${extra} }`;
}
