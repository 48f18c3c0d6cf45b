import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from '../util/errors.js';
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
  const repoRoot = await gitToplevel(abs);
  if (!repoRoot) {
    return { dir: abs, repoRoot: abs, relativeDir: '.', lockPath: 'flake.lock', ref: `path:${abs}` };
  }
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

/**
 * The flake in `dir` (the `path` input, relative to the workspace), which must be a folder of the
 * repository checked out in the workspace: the bump commits its flake.lock to that repository,
 * so a folder anywhere else (another checkout, a folder outside git) would be bumped as if it
 * were the repository.
 */
export async function locateCheckedOutFlake(dir: string, workspace: string): Promise<FlakeSource> {
  const wanted = resolve(workspace, dir);
  const real = await realpath(wanted).catch(() => undefined);
  const isDir = real !== undefined && (await stat(real)).isDirectory();
  if (!real || !isDir) throw pathError(dir, `${real ? 'is not a folder' : 'does not exist'} (looked for ${wanted})`);
  const workspaceReal = await realpath(workspace);
  if (!isWithin(real, workspaceReal)) throw pathError(dir, `resolves to ${real}, outside the workspace ${workspaceReal} (GITHUB_WORKSPACE) where the repository is checked out`);
  const repoRoot = await gitToplevel(real);
  if (!repoRoot) throw pathError(dir, `(${real}) is not in a git checkout: check the repository out (actions/checkout) before this step`);
  const workspaceRepo = await gitToplevel(workspaceReal);
  if (workspaceRepo ? repoRoot !== workspaceRepo : !isWithin(repoRoot, workspaceReal)) {
    throw pathError(dir, `(${real}) belongs to the git checkout at ${repoRoot}, not to the repository checked out in the workspace${workspaceRepo ? ` (${workspaceRepo})` : ''}`);
  }
  return locateFlake(real);
}

const pathError = (dir: string, problem: string) => new UserError(`Input "path": "${dir}" ${problem}. Give a folder of the checked-out repository. Example: path: .`);

const isWithin = (path: string, root: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/** The root of the git work tree holding `dir`, or undefined outside one. */
async function gitToplevel(dir: string): Promise<string | undefined> {
  const top = await exec('git', ['rev-parse', '--show-toplevel'], { cwd: dir, allowFailure: true });
  return top.code === 0 ? top.stdout.trim() : undefined;
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
