import type { PathPushResult, PushResult } from '../cache/push.js';
import type { Inventory } from '../fleet/index.js';
import type { BuildOutcome, Nix, PathInfo } from '../nix/index.js';
import { hintFor } from '../nix/errors.js';
import type { Log } from '../util/log.js';
import { matchingChecks, runChecks, type CheckResult } from './checks.js';
import { closuresByRoot } from './closure.js';
import { ClosurePusher, type PushRequest } from './closure-pusher.js';
import { ensureKvm } from './kvm.js';
import type { BuildSystems } from './build-systems.js';
import { resolveTargets, type BuildTarget, type OtherSystemHost } from './targets.js';

export type { PushRequest };

export interface BuildRequest {
  flake: string;
  hosts: readonly string[];
  installables: readonly string[];
  inventory?: Inventory;
  systems: BuildSystems;
  checks: readonly string[];
}


export interface TargetReport {
  target: BuildTarget;
  outcome: BuildOutcome;
  outPath?: string;
  closurePaths: number;
  closureBytes: number;
  pushedPaths: number;
  pushedBytes: number;
  /** Paths of the closure whose broken cache entry was replaced (verify-cache). */
  repairedPaths: number;
  skippedPaths: number;
  /** When its whole closure was in the cache, in ms from the start of the build (absent: it is not). */
  inCacheAfterMs?: number;
}

export interface FleetBuildReport {
  targets: TargetReport[];
  checks: CheckResult[];
  push?: PushResult;
  /** Set when the push was delegated to `nix copy` (ssh stores): no per-path detail. */
  delegatedTo?: string;
  buildMs: number;
  pushMs: number;
}

/**
 * Builds the targets (and checks) in one `nix build --keep-going`; never pushes. `onReady` hears
 * of each target whose outputs are in the store while the build still runs.
 */
export async function buildTargets(
  request: BuildRequest,
  nix: Nix,
  log: Log,
  onReady?: (target: BuildTarget, outputs: Record<string, string>) => void,
): Promise<{ targets: BuildTarget[]; otherSystems: OtherSystemHost[]; outcomes: BuildOutcome[]; checks: CheckResult[]; buildMs: number }> {
  const started = performance.now();
  const { targets, otherSystems } = await resolveTargets({ ...request, systems: request.systems.all }, nix);
  for (const system of new Set(otherSystems.map((h) => h.system))) {
    const hosts = otherSystems.filter((h) => h.system === system).map((h) => h.host);
    log.info(`left to the ${system} build job: ${hosts.join(', ')} (this job builds ${[...request.systems.all].join(', ')})`);
  }
  const outcomes = await log.group(`Building ${targets.length} ${targets.length === 1 ? 'target' : 'targets'}`, () =>
    nix.build(
      targets.map((t) => t.installable),
      onReady ? { onReady: (i, outputs) => onReady(targets[i] as BuildTarget, outputs) } : {},
    ),
  );
  for (const [i, outcome] of outcomes.entries()) {
    const target = targets[i] as BuildTarget;
    if (!outcome.ok) {
      const hint = hintFor(outcome.error);
      log.error(`${target.name}: ${outcome.error.split('\n').slice(0, 3).join(' ')}${hint ? ` ${hint}` : ''}`, { title: `${target.name} failed to ${outcome.stage === 'eval' ? 'evaluate' : 'build'}` });
    }
  }
  let checks: CheckResult[] = [];
  const checkNames = await matchingChecks(nix, request.flake, request.systems.system, request.checks);
  if (checkNames.length > 0) {
    await ensureKvm(log);
    checks = await log.group(`Running ${checkNames.length} NixOS VM ${checkNames.length === 1 ? 'test' : 'tests'}`, () => runChecks(nix, request.flake, request.systems.system, checkNames, log));
    for (const check of checks.filter((c) => c.outcome === 'failed' && c.log)) {
      await log.group(`nix log of failed check ${check.name}`, async () => log.quoted(check.log as string));
    }
  }
  return { targets, otherSystems, outcomes, checks, buildMs: performance.now() - started };
}

/** Reads the closures of the built outputs and pushes the missing paths. */
export async function pushOutputs(roots: readonly string[], request: PushRequest, nix: Nix, log: Log): Promise<{ infos: PathInfo[]; push?: PushResult; delegatedTo?: string; pushMs: number }> {
  const url = request.cache;
  if (url.kind !== 'nix-copy') return pushWith(new ClosurePusher(request, nix, log), roots, log);
  const started = performance.now();
  const infos = roots.length > 0 ? await nix.pathInfo(roots, { recursive: true }) : [];
  // An SSH store is a Nix store: nix copy asks it which paths are valid, there are no narinfos to verify.
  if (request.verifyCache) log.info(`verify-cache does not apply to ${url.url}: nix copy checks the paths in that store itself`);
  await log.group(`Copying ${infos.length} paths to ${url.url} with nix copy`, async () => {
    if (request.signingKeyText) await nix.sign(roots, request.signingKeyText);
    await nix.copy(roots, { to: url.target });
  });
  return { infos, delegatedTo: url.url, pushMs: performance.now() - started };
}

/** Pushes the closures of `roots` through `pusher` (after what it already pushed), runs `beforeClose`, then closes it. */
export async function pushWith(pusher: ClosurePusher, roots: readonly string[], log: Log, beforeClose?: () => Promise<void>): Promise<{ infos: PathInfo[]; push: PushResult; pushMs: number }> {
  const started = performance.now();
  try {
    await log.group(`Pushing the closures of ${roots.length} ${roots.length === 1 ? 'path' : 'paths'}`, () => pusher.push(roots));
    const result = { ...(await pusher.result()), pushMs: performance.now() - started };
    await beforeClose?.();
    return result;
  } finally {
    await pusher.close();
  }
}

/** Attributes paths and bytes to each target; a path shared by two hosts counts for both. */
export function reportTargets(
  targets: readonly BuildTarget[],
  outcomes: readonly BuildOutcome[],
  infos: readonly PathInfo[],
  push?: PushResult,
  inCacheAfterMs?: ReadonlyMap<string, number>,
): TargetReport[] {
  const outPathOf = (outcome: BuildOutcome) => (outcome.ok ? (outcome.outputs.out ?? Object.values(outcome.outputs)[0]) : undefined);
  const roots = outcomes.map(outPathOf).filter((p): p is string => Boolean(p));
  const closures = closuresByRoot(roots, infos);
  const infoByPath = new Map(infos.map((i) => [i.path, i]));
  const pushByPath = new Map<string, PathPushResult>((push?.paths ?? []).map((p) => [p.path, p]));
  return targets.map((target, i) => {
    const outcome = outcomes[i] as BuildOutcome;
    const outPath = outPathOf(outcome);
    const closure = outPath ? [...(closures.get(outPath) ?? [])] : [];
    const results = closure.map((p) => pushByPath.get(p));
    return {
      target,
      outcome,
      ...(outPath ? { outPath } : {}),
      closurePaths: closure.length,
      closureBytes: closure.reduce((sum, p) => sum + (infoByPath.get(p)?.narSize ?? 0), 0),
      pushedPaths: results.filter((r) => r?.status === 'pushed').length,
      pushedBytes: results.reduce((sum, r) => sum + (r?.status === 'pushed' ? r.fileSize : 0), 0),
      repairedPaths: results.filter((r) => r?.status === 'repaired').length,
      skippedPaths: results.filter((r) => r?.status === 'skipped' || r?.status === 'upstream').length,
      ...(inCacheAfterMs?.has(target.name) ? { inCacheAfterMs: inCacheAfterMs.get(target.name) as number } : {}),
    };
  });
}
