import { openStore, type CacheUrl, type OpenStoreOptions } from '../cache/open-store.js';
import { pushToCache, type PathPushResult, type PushResult } from '../cache/push.js';
import type { Compression } from '../cache/compress.js';
import type { PublicKey, SigningKey } from '../cache/signing.js';
import type { Inventory } from '../fleet/index.js';
import type { BuildOutcome, Nix, PathInfo } from '../nix/index.js';
import { hintFor } from '../nix/errors.js';
import type { Log } from '../util/log.js';
import { matchingChecks, runChecks, type CheckResult } from './checks.js';
import { closuresByRoot } from './closure.js';
import { ensureKvm } from './kvm.js';
import type { BuildSystems } from './build-systems.js';
import { resolveTargets, type BuildTarget, type OtherSystemHost } from './targets.js';

export interface BuildRequest {
  flake: string;
  hosts: readonly string[];
  installables: readonly string[];
  inventory?: Inventory;
  systems: BuildSystems;
  checks: readonly string[];
}

export interface PushRequest {
  cache: CacheUrl;
  signingKey?: SigningKey;
  /** The key's text, kept only for SSH stores: Nix signs the local paths before `nix copy`. */
  signingKeyText?: string;
  compression: Compression;
  concurrency: number;
  skipUpstream: readonly PublicKey[];
  /** Check the entries already in the cache (NAR present, signed by signingKey) and repair broken ones. */
  verifyCache: boolean;
  /**
   * Called only after every build has finished, so no credential exists while builds of
   * possibly untrusted code run.
   */
  storeOptions: () => Promise<OpenStoreOptions>;
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

/** Builds the targets (and checks) in one `nix build --keep-going`; never pushes. */
export async function buildTargets(
  request: BuildRequest,
  nix: Nix,
  log: Log,
): Promise<{ targets: BuildTarget[]; otherSystems: OtherSystemHost[]; outcomes: BuildOutcome[]; checks: CheckResult[]; buildMs: number }> {
  const started = performance.now();
  const { targets, otherSystems } = await resolveTargets({ ...request, systems: request.systems.all }, nix);
  for (const system of new Set(otherSystems.map((h) => h.system))) {
    const hosts = otherSystems.filter((h) => h.system === system).map((h) => h.host);
    log.info(`left to the ${system} build job: ${hosts.join(', ')} (this job builds ${[...request.systems.all].join(', ')})`);
  }
  const outcomes = await log.group(`Building ${targets.length} ${targets.length === 1 ? 'target' : 'targets'}`, () => nix.build(targets.map((t) => t.installable)));
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
  const started = performance.now();
  const infos = roots.length > 0 ? await nix.pathInfo(roots, { recursive: true }) : [];
  const url = request.cache;
  if (url.kind === 'nix-copy') {
    // An SSH store is a Nix store: nix copy asks it which paths are valid, there are no narinfos to verify.
    if (request.verifyCache) log.info(`verify-cache does not apply to ${url.url}: nix copy checks the paths in that store itself`);
    await log.group(`Copying ${infos.length} paths to ${url.url} with nix copy`, async () => {
      if (request.signingKeyText) await nix.sign(roots, request.signingKeyText);
      await nix.copy(roots, { to: url.target });
    });
    return { infos, delegatedTo: url.url, pushMs: performance.now() - started };
  }
  const store = openStore(url, { ...(await request.storeOptions()), log });
  try {
    const push = await log.group(`Pushing ${infos.length} paths to ${store.url}`, () =>
      pushToCache({
        paths: infos,
        store,
        ...(request.signingKey ? { signingKey: request.signingKey } : {}),
        compression: request.compression,
        concurrency: request.concurrency,
        skipUpstreamKeys: request.skipUpstream,
        verifyExisting: request.verifyCache,
        log,
      }),
    );
    return { infos, push, pushMs: performance.now() - started };
  } finally {
    await store.close();
  }
}

/** Attributes paths and bytes to each target; a path shared by two hosts counts for both. */
export function reportTargets(targets: readonly BuildTarget[], outcomes: readonly BuildOutcome[], infos: readonly PathInfo[], push?: PushResult): TargetReport[] {
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
    };
  });
}
