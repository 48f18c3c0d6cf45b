import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitHubClient, RepoRef } from '../github/client.js';
import type { AutoMergeSetting } from '../github/auto-merge.js';
import type { BranchWriter } from '../github/branch-writer.js';
import { getBranchSha, type FileChanges } from '../github/git-data.js';
import { getRepositoryInfo, type RepositoryInfo } from '../github/repository.js';
import { upsertPullRequest, type PullRequestOperation } from '../github/upsert.js';
import type { Nix } from '../nix/index.js';
import { UserError } from '../util/errors.js';
import type { Log } from '../util/log.js';
import { buildChecks, buildHosts, evalHosts, listHosts, runFlakeCheck, type ChecksMode, type HostBuild } from './checks.js';
import { diffClosures } from './closure-diff.js';
import { checkoutHead, locateCheckedOutFlake, type FlakeSource } from './flake-source.js';
import { directInputNames, type InputChange } from './lock-diff.js';
import { closureOf } from './nix-helpers.js';
import { bumpMarker, renderBumpBody, renderCommitMessage } from './pr-body.js';
import type { BumpReport, CheckResult, FlakeBump, HostClosure } from './report.js';
import { readLockState, restoreLock, updateFlakeLock, type LockState } from './update.js';

export interface FlakeBumpOptions {
  /** Flake directories, relative to `cwd` (the checkout of the base branch). */
  flakes: readonly string[];
  cwd: string;
  /** Inputs to update; empty: all. */
  inputs: readonly string[];
  group: 'all' | 'per-input';
  branch: string;
  /** Empty: the repository's default branch. */
  base?: string;
  title: string;
  labels: readonly string[];
  reviewers: readonly string[];
  autoMerge: AutoMergeSetting;
  checks: ChecksMode;
  /** Hosts to build before and after for closure diffs; empty: all when `checks` is `build`. */
  diffHosts: readonly string[];
  nix: Nix;
  client: GitHubClient;
  repo: RepoRef;
  /** Makes the writer for commits (default: Git Data API). Called once with the checkout root. */
  writer?: (repoRoot: string) => BranchWriter;
  log: Log;
}

/** One input change as the `changes` output lists it. */
export interface ChangeRecord extends InputChange {
  group: string;
  flake: string;
  lockPath: string;
}

export interface GroupOutcome {
  /** `all`, or the input of a `per-input` group. */
  group: string;
  branch: string;
  operation: PullRequestOperation;
  pullRequest?: { number: number; url: string };
  report: BumpReport;
  failedChecks: CheckResult[];
  warnings: string[];
}

export interface FlakeBumpOutcome {
  base: string;
  groups: GroupOutcome[];
  /** One operation for the run: created > updated > closed > unchanged. */
  operation: PullRequestOperation;
  /** The first pull request touched (created, updated, unchanged or closed). */
  pullRequest?: { number: number; url: string };
  changes: ChangeRecord[];
  failedChecks: CheckResult[];
}

interface FlakeState {
  source: FlakeSource;
  original: LockState;
  /** Systems built from the original lock, by host (filled on first need). */
  before: Map<string, HostBuild>;
}

const OPERATION_RANK: PullRequestOperation[] = ['created', 'updated', 'closed', 'unchanged'];

/** `nixpkgs` → `flake-bump-nixpkgs`; characters git refuses become `-`. */
export function groupBranch(branch: string, input: string): string {
  return `${branch}-${input.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '')}`;
}

/**
 * The whole bump: per group (all inputs, or one input each), update flake.lock in the checkout,
 * diff it, run the checks and closure diffs, then create, update or close the group's pull
 * request. The checkout's lock files are put back as they were at the end.
 */
export async function runFlakeBump(options: FlakeBumpOptions): Promise<FlakeBumpOutcome> {
  const { log, nix } = options;
  const flakes = await Promise.all(options.flakes.map((dir) => prepareFlake(dir, options.cwd)));
  const roots = new Set(flakes.map((f) => f.source.repoRoot));
  if (roots.size > 1) throw new UserError(`the flakes in "path" belong to different git checkouts (${[...roots].join(', ')}); bump each checkout in its own step`);
  const repository: RepositoryInfo = await getRepositoryInfo(options.client, options.repo);
  const base = options.base || repository.defaultBranch;
  const [baseSha, head] = await Promise.all([getBranchSha(options.client, options.repo, base), checkoutHead((flakes[0] as FlakeState).source.repoRoot)]);
  if (!baseSha) throw new UserError(`Input "base": the branch "${base}" does not exist in ${repository.fullName}. Example: base: ${repository.defaultBranch}`);
  if (head && head !== baseSha) {
    log.warning(`the checkout is at ${head.slice(0, 7)} but ${base} is at ${baseSha.slice(0, 7)}: the bump starts from the checkout's flake.lock (check out ${base} before this step)`);
  }
  log.info(`${(await nix.version()).text}; base ${base}; ${flakes.length} flake${flakes.length === 1 ? '' : 's'}: ${flakes.map((f) => f.source.relativeDir).join(', ')}`);

  const known = new Set(flakes.flatMap((f) => directInputNames(f.original.lock)));
  const unknown = options.inputs.filter((i) => !known.has(i.split('/')[0] as string));
  if (unknown.length > 0 && flakes.every((f) => f.original.text !== undefined)) {
    throw new UserError(`Input "inputs": ${unknown.map((i) => `"${i}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not an input of ${flakes.map((f) => f.source.lockPath).join(', ')} (inputs: ${[...known].sort().join(', ') || 'none'})`);
  }
  const groups =
    options.group === 'all'
      ? [{ name: 'all', inputs: [...options.inputs], branch: options.branch, title: options.title }]
      : (options.inputs.length > 0 ? [...options.inputs] : [...known].sort()).map((input) => ({
          name: input,
          inputs: [input],
          branch: groupBranch(options.branch, input),
          title: `${options.title} (${input})`,
        }));
  if (groups.length === 0) log.warning('the flakes have no inputs: nothing to bump');

  const writer = options.writer?.((flakes[0] as FlakeState).source.repoRoot);
  const outcomes: GroupOutcome[] = [];
  try {
    for (const group of groups) {
      outcomes.push(await log.group(`bump ${group.name === 'all' ? 'all inputs' : group.name} (${group.branch})`, () => bumpGroup(options, flakes, group, base, repository, writer)));
    }
  } finally {
    await Promise.all(flakes.map((f) => restoreLock(f.source, f.original)));
  }
  const operation = OPERATION_RANK.find((op) => outcomes.some((o) => o.operation === op)) ?? 'unchanged';
  const first = outcomes.find((o) => o.pullRequest && o.operation !== 'closed') ?? outcomes.find((o) => o.pullRequest);
  return {
    base,
    groups: outcomes,
    operation,
    ...(first?.pullRequest ? { pullRequest: first.pullRequest } : {}),
    changes: outcomes.flatMap((o) => o.report.flakes.flatMap((f) => f.changes.map((c) => ({ group: o.group, flake: f.flake, lockPath: f.lockPath, ...c })))),
    failedChecks: outcomes.flatMap((o) => o.failedChecks),
  };
}

async function prepareFlake(dir: string, cwd: string): Promise<FlakeState> {
  const source = await locateCheckedOutFlake(dir, cwd);
  const exists = await stat(join(source.dir, 'flake.nix')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!exists) throw new UserError(`Input "path": ${dir} has no flake.nix (looked in ${source.dir}). Example: path: .`);
  return { source, original: await readLockState(source), before: new Map() };
}

interface Group {
  name: string;
  inputs: string[];
  branch: string;
  title: string;
}

async function bumpGroup(options: FlakeBumpOptions, flakes: FlakeState[], group: Group, base: string, repository: RepositoryInfo, writer: BranchWriter | undefined): Promise<GroupOutcome> {
  const { log } = options;
  const report: BumpReport = { group: group.name, requested: group.inputs, flakes: [], nixVersion: (await options.nix.version()).text };
  const files: FileChanges = {};
  for (const flake of flakes) {
    // Each group starts from the base branch's lock.
    await restoreLock(flake.source, flake.original);
    const own = directInputNames(flake.original.lock);
    const inputs = group.inputs.filter((i) => flake.original.text === undefined || own.includes(i.split('/')[0] as string));
    if (group.inputs.length > 0 && inputs.length === 0) continue;
    const update = await updateFlakeLock(options.nix, flake.source, inputs, flake.original);
    for (const change of update.unexpected) {
      log.warning(`${flake.source.lockPath}: ${change.name} changed although only ${inputs.join(', ')} ${inputs.length === 1 ? 'was' : 'were'} asked for`);
    }
    const bump: FlakeBump = { flake: flake.source.relativeDir, lockPath: flake.source.lockPath, changes: update.changes, unexpected: update.unexpected, closures: [], checks: [] };
    if (update.after.text !== undefined) files[flake.source.lockPath] = update.after.text;
    if (update.changes.length === 0) {
      log.info(`${flake.source.lockPath}: no changes`);
      continue;
    }
    log.info(`${flake.source.lockPath}: ${update.changes.length} change${update.changes.length === 1 ? '' : 's'} (${update.changes.map((c) => c.name).join(', ')})`);
    await checkFlake(options, flake, update.after, bump);
    report.flakes.push(bump);
  }

  const marker = bumpMarker(group.branch);
  const body = renderBumpBody(report, { marker });
  const result = await upsertPullRequest(options.client, options.repo, {
    branch: group.branch,
    base,
    title: group.title,
    body,
    marker,
    files,
    commitMessage: renderCommitMessage(group.title, report),
    labels: options.labels,
    reviewers: options.reviewers,
    autoMerge: options.autoMerge,
    repository,
    closeComment: `Closing: \`${base}\` already has ${group.name === 'all' ? 'these inputs' : `this revision of \`${group.name}\``}, so there is nothing left to bump.`,
    ...(writer ? { writer } : {}),
  });
  const failedChecks = report.flakes.flatMap((f) => f.checks.filter((c) => !c.ok));
  return {
    group: group.name,
    branch: group.branch,
    operation: result.operation,
    ...(result.pullRequest ? { pullRequest: { number: result.pullRequest.number, url: result.pullRequest.url } } : {}),
    report,
    failedChecks,
    warnings: result.warnings,
  };
}

/** Checks and closure diffs of one flake with its new lock (which is in the checkout). */
async function checkFlake(options: FlakeBumpOptions, flake: FlakeState, after: LockState, bump: FlakeBump): Promise<void> {
  const { nix, log } = options;
  const ref = flake.source.ref;
  const needsHosts = options.checks === 'eval' || options.checks === 'build' || options.diffHosts.length > 0;
  const listed = needsHosts ? await listHosts(nix, ref) : { hosts: [] };
  if (listed.error) bump.checks.push({ kind: options.checks === 'build' ? 'build' : 'eval', target: 'nixosConfigurations', ok: false, error: listed.error });
  const hosts = listed.hosts;

  let diffHosts = options.diffHosts.length > 0 ? [...options.diffHosts] : options.checks === 'build' ? hosts : [];
  if (!listed.error && options.diffHosts.length > 0) {
    const missing = diffHosts.filter((h) => !hosts.includes(h));
    if (missing.length > 0) log.warning(`${flake.source.lockPath}: diff-hosts ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in nixosConfigurations (hosts: ${hosts.join(', ') || 'none'})`);
    diffHosts = diffHosts.filter((h) => hosts.includes(h));
  }

  if (options.checks === 'eval') bump.checks.push(...(await evalHosts(nix, ref, hosts)));
  const toBuild = options.checks === 'build' ? hosts : diffHosts;
  const afterBuilds = new Map((await buildHosts(nix, ref, toBuild)).map((b) => [b.host, b]));
  if (options.checks === 'build') bump.checks.push(...buildChecks(hosts.map((h) => afterBuilds.get(h) as HostBuild)));
  if (options.checks === 'flake-check') bump.checks.push(await runFlakeCheck(nix, ref));

  if (diffHosts.length > 0) {
    const missingBefore = diffHosts.filter((h) => !flake.before.has(h));
    if (missingBefore.length > 0) {
      // The systems of the base branch: build them with the original lock, then put the new one back.
      await restoreLock(flake.source, flake.original);
      try {
        for (const build of await buildHosts(nix, ref, missingBefore)) flake.before.set(build.host, build);
      } finally {
        if (after.text !== undefined) await writeFile(join(flake.source.dir, 'flake.lock'), after.text);
      }
    }
    for (const host of diffHosts) bump.closures.push(await compareHost(nix, host, flake.before.get(host), afterBuilds.get(host)));
  }
  const failed = bump.checks.filter((c) => !c.ok);
  if (failed.length > 0) log.warning(`${flake.source.lockPath}: ${failed.length} check${failed.length === 1 ? '' : 's'} failed after the update`);
}

async function compareHost(nix: Nix, host: string, before: HostBuild | undefined, after: HostBuild | undefined): Promise<HostClosure> {
  if (!before?.toplevel) return { host, ...(after?.toplevel ? { after: after.toplevel } : {}), error: `did not build before the update: ${before?.error ?? 'unknown error'}` };
  if (!after?.toplevel) return { host, before: before.toplevel, error: `does not build after the update: ${after?.error ?? 'unknown error'}` };
  const [old, now] = await Promise.all([closureOf(nix, before.toplevel), closureOf(nix, after.toplevel)]);
  return { host, before: before.toplevel, after: after.toplevel, diff: diffClosures(old, now) };
}
