/**
 * Stand-ins for the third-party actions our workflows use. Each says what it does instead of the
 * real action; every other `uses:` that is not one of our actions fails the run.
 *
 * - actions/checkout: `git clone` of the runner's `cloneUrl` (the GitHub emulator's bare repository)
 *   into the workspace, detached at `ref` (a branch, tag or commit) or the event's sha. No credentials are persisted; `path`
 *   is honoured, `fetch-depth` and `token` are accepted and ignored (the clone is local and full).
 * - cachix/install-nix-action, DeterminateSystems/nix-installer-action, nixbuild/nix-quick-install-action:
 *   install nothing (the machine's Nix is on PATH); export NIX_CONFIG with the test bed's nix.conf
 *   (offline: no sandbox, no substituters) plus the step's `extra_nix_config`/`extra-conf` lines, as
 *   the real ones write them to nix.conf.
 * - actions/upload-artifact: copies the files matching `path` (globs relative to the workspace) into
 *   the run's artifact store under `name`; a second upload of the same name fails, as in v4.
 * - actions/download-artifact: copies artifacts (`name`, or every one matching `pattern`) into `path`
 *   (default the workspace), each in its own folder unless `merge-multiple: true` (or `name` is given).
 */
import { glob, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { exec } from '../../../src/util/exec.js';
import type { ArtifactStore, RunnerSettings } from './types.js';

export interface StandInStep {
  workspace: string;
  inputs: Record<string, string>;
  /** The event's sha (what actions/checkout checks out by default). */
  sha: string;
  settings: RunnerSettings;
  artifacts: ArtifactStore;
}

export interface StandInResult {
  /** Variables the action exports to later steps (GITHUB_ENV). */
  exportedEnv: Record<string, string>;
  outputs: Record<string, string>;
  log: string;
}

interface StandIn {
  /** The inputs the stand-in understands (a subset of the real action's). */
  inputs: readonly string[];
  run(step: StandInStep): Promise<StandInResult>;
}

const done = (log: string, exportedEnv: Record<string, string> = {}, outputs: Record<string, string> = {}): StandInResult => ({ log, exportedEnv, outputs });

const checkout: StandIn = {
  inputs: ['repository', 'ref', 'path', 'fetch-depth', 'token', 'persist-credentials', 'submodules', 'lfs', 'clean'],
  async run({ workspace, inputs, sha, settings }) {
    if (!settings.cloneUrl) throw new Error('actions/checkout: the runner was given no cloneUrl to check out from');
    if (inputs.repository && inputs.repository !== settings.repository) throw new Error(`actions/checkout: the stand-in checks out ${settings.repository} only, not ${inputs.repository}`);
    const target = inputs.path ? join(workspace, inputs.path) : workspace;
    await exec('git', ['clone', '--quiet', '--no-checkout', settings.cloneUrl, target]);
    // A branch name is the clone's remote-tracking branch, as the real action fetches it.
    const branch = inputs.ref ? inputs.ref.replace(/^refs\/heads\//, '') : '';
    const remote = branch && (await exec('git', ['-C', target, 'rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`], { allowFailure: true })).code === 0;
    const revision = remote ? `origin/${branch}` : inputs.ref || sha;
    await exec('git', ['-C', target, 'checkout', '--quiet', '--detach', revision]);
    return done(`checked out ${revision} into ${relative(workspace, target) || '.'}`);
  },
};

const installNix = (extraConfigInput: string): StandIn => ({
  inputs: [extraConfigInput, 'github_access_token', 'install_url', 'nix_path', 'enable_kvm', 'install_options', 'determinate', 'extra-conf', 'extra_nix_config'].filter((v, i, a) => a.indexOf(v) === i),
  async run({ inputs, settings }) {
    const config = [settings.nixConfig ?? '', inputs[extraConfigInput] ?? ''].filter(Boolean).join('\n');
    return done('using the machine\'s Nix', { NIX_CONFIG: config });
  },
});

const uploadArtifact: StandIn = {
  inputs: ['name', 'path', 'retention-days', 'if-no-files-found', 'compression-level', 'overwrite', 'include-hidden-files'],
  async run({ workspace, inputs, artifacts }) {
    const name = inputs.name || 'artifact';
    if (artifacts.has(name) && inputs.overwrite !== 'true') throw new StepFailure(`actions/upload-artifact: an artifact named ${name} already exists in this run`);
    const files = new Map<string, Buffer>();
    for (const pattern of (inputs.path ?? '').split('\n').map((p) => p.trim()).filter(Boolean)) {
      for await (const match of glob(pattern, { cwd: workspace })) files.set(basename(match), await readFile(join(workspace, match)));
    }
    if (files.size === 0 && (inputs['if-no-files-found'] ?? 'warn') === 'error') throw new StepFailure(`actions/upload-artifact: no files match ${inputs.path}`);
    artifacts.set(name, files);
    return done(`uploaded ${files.size} file(s) as ${name}`);
  },
};

const downloadArtifact: StandIn = {
  inputs: ['name', 'pattern', 'path', 'merge-multiple', 'github-token', 'repository', 'run-id', 'artifact-ids'],
  async run({ workspace, inputs, artifacts }) {
    const target = inputs.path ? join(workspace, inputs.path) : workspace;
    const pattern = inputs.name ? undefined : new RegExp(`^${(inputs.pattern || '*').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    const names = inputs.name ? [inputs.name] : [...artifacts.keys()].filter((n) => pattern?.test(n));
    if (inputs.name && !artifacts.has(inputs.name)) throw new StepFailure(`actions/download-artifact: no artifact named ${inputs.name}`);
    const merge = Boolean(inputs.name) || inputs['merge-multiple'] === 'true';
    for (const name of names) {
      const dir = merge ? target : join(target, name);
      await mkdir(dir, { recursive: true });
      for (const [file, content] of artifacts.get(name) ?? []) await writeFile(join(dir, file), content);
    }
    return done(`downloaded ${names.length} artifact(s): ${names.join(', ')}`);
  },
};

/** A failure of the step itself (the job fails), as opposed to a step that could not run at all. */
export class StepFailure extends Error {}

const STAND_INS: Record<string, StandIn> = {
  'actions/checkout': checkout,
  'cachix/install-nix-action': installNix('extra_nix_config'),
  'DeterminateSystems/nix-installer-action': installNix('extra-conf'),
  'nixbuild/nix-quick-install-action': installNix('nix_conf'),
  'actions/upload-artifact': uploadArtifact,
  'actions/download-artifact': downloadArtifact,
};

/** The stand-in for `uses: owner/repo@version`, or undefined. */
export function standInFor(uses: string): StandIn | undefined {
  const name = uses.split('@')[0] as string;
  return STAND_INS[name];
}
