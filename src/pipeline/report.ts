import type { PathRepair, PushResult } from '../cache/push.js';
import type { PathInfo } from '../nix/index.js';
import { aSystem } from '../nix/errors.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { markdownCode, markdownText } from '../util/markdown.js';
import type { CheckResult } from './checks.js';
import type { TargetReport } from './build-and-push.js';
import type { OtherSystemHost } from './targets.js';

/** The `manifest` output: every path of the closures, pushed or skipped, with sizes and timings. */
export interface BuildManifest {
  version: 1;
  cache?: string;
  /** Whether entries already in the cache were checked (verify-cache); `repaired` counts only then. */
  verifiedCache: boolean;
  storePaths: Record<string, string>;
  /** `inCacheAfterMs`: when the whole closure was in the cache, from the start of the build. */
  targets: { name: string; installable: string; ok: boolean; outPath?: string; error?: string; closurePaths: number; closureBytes: number; inCacheAfterMs?: number }[];
  checks: CheckResult[];
  paths: { path: string; narSize: number; status: string; fileSize?: number; durationMs?: number; error?: string; repair?: PathRepair }[];
  totals: { paths: number; pushed: number; repaired: number; skipped: number; failed: number; narBytes: number; pushedBytes: number; buildMs: number; pushMs: number };
}

export function buildManifest(
  cache: string | undefined,
  targets: readonly TargetReport[],
  checks: readonly CheckResult[],
  infos: readonly PathInfo[],
  push: PushResult | undefined,
  buildMs: number,
  pushMs: number,
  verifiedCache = false,
): BuildManifest {
  const pushed = new Map((push?.paths ?? []).map((p) => [p.path, p]));
  const paths = infos.map((info) => {
    const result = pushed.get(info.path);
    return {
      path: info.path,
      narSize: info.narSize,
      status: result?.status ?? 'not-pushed',
      ...(result ? { fileSize: result.fileSize, durationMs: Math.round(result.durationMs) } : {}),
      ...(result?.error ? { error: result.error } : {}),
      ...(result?.repair ? { repair: result.repair } : {}),
    };
  });
  return {
    version: 1,
    ...(cache ? { cache } : {}),
    verifiedCache,
    storePaths: storePathsOf(targets),
    targets: targets.map((t) => ({
      name: t.target.name,
      installable: t.target.installable,
      ok: t.outcome.ok,
      ...(t.outPath ? { outPath: t.outPath } : {}),
      ...(t.outcome.ok ? {} : { error: t.outcome.error }),
      closurePaths: t.closurePaths,
      closureBytes: t.closureBytes,
      ...(t.inCacheAfterMs !== undefined ? { inCacheAfterMs: Math.round(t.inCacheAfterMs) } : {}),
    })),
    checks: [...checks],
    paths,
    totals: {
      paths: infos.length,
      pushed: push?.totals.pushed ?? 0,
      repaired: push?.totals.repaired ?? 0,
      skipped: (push?.totals.skipped ?? 0) + (push?.totals.upstream ?? 0),
      failed: (push?.totals.failed ?? 0) + (push?.totals.blocked ?? 0),
      narBytes: infos.reduce((sum, i) => sum + i.narSize, 0),
      pushedBytes: push?.totals.fileBytes ?? 0,
      buildMs: Math.round(buildMs),
      pushMs: Math.round(pushMs),
    },
  };
}

export function storePathsOf(targets: readonly TargetReport[]): Record<string, string> {
  return Object.fromEntries(targets.filter((t) => t.outPath).map((t) => [t.target.name, t.outPath as string]));
}

/** `In cache`: how long after the build started the host's whole closure was in the cache. */
export const TARGET_HEADERS = ['Host', 'System', 'Outcome', 'Store path', 'Closure', 'Pushed', 'Skipped', 'In cache'];

/** The per-host table's headers; a Repaired column when the cache's entries were verified. */
export function targetHeaders(verified: boolean): string[] {
  return verified ? [...TARGET_HEADERS.slice(0, 6), 'Repaired', ...TARGET_HEADERS.slice(6)] : TARGET_HEADERS;
}

export function targetRows(targets: readonly TargetReport[], pushed: boolean, verified = false): string[][] {
  return targets.map((t) => [
    t.target.name,
    t.target.system ?? '',
    t.outcome.ok ? '✅ built' : `❌ ${t.outcome.stage === 'eval' ? 'evaluation failed' : 'build failed'}`,
    t.outPath ?? '',
    t.outPath ? `${t.closurePaths} paths, ${formatBytes(t.closureBytes)}` : '',
    pushed ? `${t.pushedPaths} paths, ${formatBytes(t.pushedBytes)}` : '—',
    ...(verified ? [pushed ? String(t.repairedPaths) : '—'] : []),
    pushed ? String(t.skippedPaths) : '—',
    pushed && t.inCacheAfterMs !== undefined ? `after ${formatDuration(t.inCacheAfterMs)}` : '—',
  ]);
}

export function totalsLine(manifest: BuildManifest): string {
  const { totals } = manifest;
  const seconds = totals.pushMs / 1000;
  const throughput = seconds > 0 ? `${formatBytes(totals.pushedBytes / seconds)}/s` : 'n/a';
  return (
    `**${totals.paths} paths** in the closures (${formatBytes(totals.narBytes)} uncompressed): ` +
    `${totals.pushed} pushed${manifest.verifiedCache ? ` and ${totals.repaired} repaired` : ''} (${formatBytes(totals.pushedBytes)} compressed), ${totals.skipped} already cached, ${totals.failed} failed. ` +
    `Build ${formatDuration(totals.buildMs)}, push ${formatDuration(totals.pushMs)} (${throughput}).`
  );
}

export const CHECK_HEADERS = ['VM test', 'Outcome', 'Duration'];

export function checkRows(checks: readonly CheckResult[]): string[][] {
  return checks.map((c) => [c.name, c.outcome === 'passed' ? '✅ passed' : '❌ failed', formatDuration(c.durationMs)]);
}

/** Hosts another system's job builds: where they go (build.yml runs one job per system). */
export function otherSystemRows(hosts: readonly OtherSystemHost[]): string[][] {
  return hosts.map((h) => [h.host, h.system, `the ${h.system} job (or builders with ${aSystem(h.system)} machine)`]);
}

/** The summary's list of repaired cache entries, one Markdown line each (store path, what was done, why). */
export function repairLines(manifest: BuildManifest): string[] {
  return manifest.paths.flatMap((p) => (p.status === 'repaired' && p.repair ? [`- ${markdownCode(p.path)}: ${markdownText(p.repair.label)} (${markdownText(p.repair.detail)})`] : []));
}

/** Said under the totals when entries already in the cache were trusted as they are. */
export const VERIFY_CACHE_HINT = 'Paths already in the cache were not checked: `verify-cache: true` checks that each has its NAR and our signature, and repairs those that do not.';
