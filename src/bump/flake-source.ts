import { relative, resolve, sep } from 'node:path';
import { exec } from '../util/exec.js';

/** Where a flake lives: the directory, the git checkout around it, and how to name it to Nix. */
export interface FlakeSource {
  /** Absolute directory of flake.nix. */
  dir: string;
  /** Root of the git checkout holding it (the directory itself when not in git). */
  repoRoot: string;
  /** The flake directory relative to the repository root, `.` for the root. */
  relativeDir: string;
  /** flake.lock relative to the repository root, with `/` separators. */
  lockPath: string;
  /** What to give Nix. */
  ref: string;
}

/**
 * Names a flake directory to Nix the way `nix flake update` in that directory would (tracked
 * files of the git checkout), but with `shallow=1`: CI checkouts are shallow, and Nix refuses a
 * shallow repository otherwise. Outside git: `path:`.
 */
export async function locateFlake(dir: string, cwd: string = process.cwd()): Promise<FlakeSource> {
  const abs = resolve(cwd, dir);
  const top = await exec('git', ['rev-parse', '--show-toplevel'], { cwd: abs, allowFailure: true });
  if (top.code !== 0) {
    return { dir: abs, repoRoot: abs, relativeDir: '.', lockPath: 'flake.lock', ref: `path:${abs}` };
  }
  const repoRoot = top.stdout.trim();
  const sub = relative(repoRoot, abs).split(sep).join('/');
  const query = `shallow=1${sub ? `&dir=${encodeURIComponent(sub).replace(/%2F/g, '/')}` : ''}`;
  return {
    dir: abs,
    repoRoot,
    relativeDir: sub || '.',
    lockPath: sub ? `${sub}/flake.lock` : 'flake.lock',
    ref: `git+file://${repoRoot}?${query}`,
  };
}

/** `REF#nixosConfigurations."HOST".config.system.build.toplevel`. */
export function toplevelAttr(ref: string, host: string): string {
  return `${ref}#nixosConfigurations.${JSON.stringify(host)}.config.system.build.toplevel`;
}

/** The commit checked out at `repoRoot`, or undefined outside git. */
export async function checkoutHead(repoRoot: string): Promise<string | undefined> {
  const head = await exec('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, allowFailure: true });
  return head.code === 0 ? head.stdout.trim() : undefined;
}
