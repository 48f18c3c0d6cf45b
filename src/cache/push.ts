import { performance } from 'node:perf_hooks';
import type { PathInfo } from '../nix/path-info.js';
import { mapConcurrent } from '../util/async.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import type { Log } from '../util/log.js';
import { ensureCacheInfo } from './cache-info.js';
import { compressionParallelism, narInfoCompression, type Compression } from './compress.js';
import { BUFFERED_NAR_LIMIT, NarMismatchError, uploadNar, type NarSource, type NarUploadResult } from './nar-upload.js';
import { defaultNarWorkers, NarWorkerPool, type NarWorkerStats } from './nar-workers.js';
import { fingerprint, narInfoKey, normalizeSha256, renderNarInfo, type NarInfo } from './narinfo.js';
import { PushPlan, type PathStatus, type PlanNode } from './push-plan.js';
import { isTransientError, withRetry } from './retry.js';
import { verifyAny, type PublicKey, type SigningKey } from './signing.js';
import type { BinaryCacheStore } from './store.js';
import { REPAIR_LABELS, verifyCacheEntry, type RepairReason } from './verify-entry.js';

/** What the pipeline needs to know about a path: `nix path-info` output (src/nix). */
export type PushPathInfo = Pick<PathInfo, 'path' | 'narHash' | 'narSize' | 'references'> & Partial<Pick<PathInfo, 'deriver' | 'signatures' | 'ca'>>;

export interface PushOptions {
  /** The closures to push, every path with its references (`nix path-info --recursive`). */
  paths: readonly PushPathInfo[];
  store: BinaryCacheStore;
  /** Signs every narinfo written. Without it, narinfos carry only the paths' own signatures. */
  signingKey?: SigningKey;
  /** Default zstd at level 3. */
  compression?: Compression;
  /** NAR uploads and narinfo writes in flight. Default 32. */
  concurrency?: number;
  /** `has` checks in flight. Default twice `concurrency`. */
  checkConcurrency?: number;
  /** Paths carrying a valid signature by one of these keys are served upstream: not pushed. */
  skipUpstreamKeys?: readonly PublicKey[];
  /**
   * Checks every narinfo the cache already holds instead of trusting its presence: its NAR must be
   * there and, with `signingKey`, it must carry our signature. Broken entries are repaired (NAR
   * re-pushed, or narinfo re-signed) and reported as `repaired`. Costs a GET and a HEAD per path.
   */
  verifyExisting?: boolean;
  log: Log;
  /** Called once per path when it reaches its final status. */
  onProgress?: (progress: PushProgress) => void;
  /** Where NARs come from; defaults to serializing each path from the filesystem. */
  narSource?: NarSource;
  /**
   * Worker threads preparing small NARs (serialize, check, compress) off the main thread.
   * Default: the cores beyond the first, at most 4. 0 keeps all work on the main thread.
   */
  narWorkers?: number;
  /** Attempts per streamed (bigger than 1 MiB) NAR when the store fails transiently mid-stream. Default 3. */
  uploadAttempts?: number;
  /** Paths an earlier push of this run put in the cache: references to them are taken as there, unchecked. */
  available?: ReadonlySet<string>;
  /**
   * Narinfo keys the cache's garbage collection has condemned (fleet/gc/condemned.json): such a path
   * is pushed again instead of relied on, which also takes it off the next collection's list.
   */
  condemned?: ReadonlySet<string>;
}

export interface PathPushResult {
  path: string;
  status: PathStatus;
  narSize: number;
  /** Compressed bytes uploaded (0 unless pushed). */
  fileSize: number;
  /** Time spent uploading its NAR and writing its narinfo (waiting on references excluded). */
  durationMs: number;
  error?: string;
  /** Why its cache entry is being replaced: status `repaired` once done, `failed` or `blocked` when the repair could not be made. */
  repair?: PathRepair;
}

export interface PathRepair {
  reason: RepairReason;
  /** `REPAIR_LABELS[reason]`: "NAR missing, re-pushed", "re-signed", … */
  label: string;
  /** What was found, e.g. "nar/….nar.zst is not in the cache". */
  detail: string;
}

export interface PushTotals {
  paths: number;
  pushed: number;
  /** Cache entries found broken and replaced (verifyExisting). */
  repaired: number;
  skipped: number;
  upstream: number;
  failed: number;
  blocked: number;
  /** NAR bytes uploaded (pushed paths and re-pushed repairs). */
  narBytes: number;
  /** Compressed bytes uploaded (pushed paths and re-pushed repairs). */
  fileBytes: number;
  durationMs: number;
}

export interface PushResult {
  /** In the order the paths were given. */
  paths: PathPushResult[];
  totals: PushTotals;
}

export interface PushProgress {
  result: PathPushResult;
  /** Paths with a final status so far, and in all. */
  done: number;
  total: number;
}

const NARINFO_CONTENT_TYPE = 'text/x-nix-narinfo';
/** Failed paths logged as errors one by one; the rest go to the debug log. */
const MAX_FAILURE_LINES = 10;

interface Work {
  upload?: NarUploadResult;
  /** A re-signed narinfo, written as it is (its NAR is already in the cache). */
  narInfo?: NarInfo;
  durationMs: number;
}

/**
 * Pushes closures to a binary cache: checks which narinfos are missing, uploads the missing
 * NARs (serialized in-process, checked against Nix's NarHash, compressed, hashed on the fly),
 * and writes each narinfo once its NAR and its references' narinfos are in place.
 *
 * A path that fails never gets a narinfo, nor does anything depending on it (reported as
 * blocked); the other paths carry on. Only problems with the cache as a whole throw.
 *
 * With `verifyExisting`, a narinfo already in the cache is read and checked first (see
 * verify-entry.ts); a broken one is replaced under the same rule as a new path.
 */
export async function pushToCache(options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const { store, log } = options;
  const compression = options.compression ?? { method: 'zstd' };
  const concurrency = Math.max(1, options.concurrency ?? 32);
  const checkConcurrency = Math.max(1, options.checkConcurrency ?? concurrency * 2);
  const upstreamKeys = options.skipUpstreamKeys ?? [];
  const infos = uniqueByPath(options.paths);
  const total = infos.length;
  const work = new Map<string, Work>();
  const repairs = new Map<string, PathRepair>();
  const verifying = options.verifyExisting === true;
  let done = 0;
  let failures = 0;

  await ensureCacheInfo(store);

  const resultOf = (node: PlanNode<PushPathInfo>): PathPushResult => {
    const info = node.info as PushPathInfo;
    const w = work.get(node.path);
    const landed = node.status === 'pushed' || node.status === 'repaired';
    const result: PathPushResult = {
      path: node.path,
      status: node.status ?? 'failed',
      narSize: info.narSize,
      fileSize: landed ? (w?.upload?.fileSize ?? 0) : 0,
      durationMs: Math.round(w?.durationMs ?? 0),
    };
    if (node.error !== undefined) result.error = node.error;
    const repair = repairs.get(node.path);
    if (repair) result.repair = repair;
    return result;
  };

  const plan = new PushPlan<PushPathInfo>(infos, {
    isUpstream: (info) => upstreamKeys.length > 0 && signedUpstream(info, upstreamKeys),
    onSettled: (node) => {
      if (!node.info) return;
      done++;
      const result = resultOf(node);
      if (result.status === 'failed') {
        // A cache that refuses everything fails thousands of paths: a few lines tell the story.
        if (++failures <= MAX_FAILURE_LINES) log.error(`${node.path}: ${result.error}`);
        else log.debug(`${node.path} failed: ${result.error}`);
      } else if (result.status === 'blocked') log.debug(`${node.path} is blocked: ${result.error}`);
      else if (result.status === 'pushed') log.debug(`pushed ${node.path} (${formatBytes(result.narSize)} NAR, ${formatBytes(result.fileSize)} ${compression.method})`);
      else if (result.status === 'repaired') log.debug(`repaired ${node.path}: ${result.repair?.label ?? ''}`);
      try {
        options.onProgress?.({ result, done, total });
      } catch (error) {
        log.debug(`progress callback failed: ${errorMessage(error)}`);
      }
    },
  });

  for (const node of plan.given()) {
    const problem = pathInfoProblem(node.info as PushPathInfo);
    if (problem) plan.failed(node, problem);
  }

  log.info(`Pushing ${total} paths (${formatBytes(sumNarSize(infos))} of NARs) to ${store.url} with ${compression.method} compression`);
  if (!options.signingKey) log.warning('No signing key: narinfos carry only the signatures the paths already have, so clients must trust them otherwise.');
  if (verifying) {
    log.info(
      options.signingKey
        ? `verify-cache: checking that every narinfo already in the cache has its NAR and a valid signature by ${options.signingKey.name}`
        : 'verify-cache: no signing key, so only checking that every narinfo already in the cache has its NAR (signatures are not checked)',
    );
  }

  // Every state change may make work possible for an idle lane.
  let waiting: (() => void)[] = [];
  const wake = (): void => {
    const list = waiting;
    waiting = [];
    for (const resolve of list) resolve();
  };
  const changed = (): Promise<void> => new Promise((resolve) => waiting.push(resolve));

  let repairLines = 0;
  const verify = async (node: PlanNode<PushPathInfo>): Promise<void> => {
    const info = node.info as PushPathInfo;
    const verdict = await verifyCacheEntry(store, info, options.signingKey);
    if (verdict.action === 'absent' || verdict.action === 'keep') return plan.checked(node, verdict.action === 'keep');
    const repair: PathRepair = { reason: verdict.reason, label: REPAIR_LABELS[verdict.reason], detail: verdict.detail };
    repairs.set(node.path, repair);
    if (++repairLines <= MAX_FAILURE_LINES) log.info(`${node.path} is broken in the cache (${repair.detail}): ${verdict.action === 'resign' ? 're-signing it' : 're-pushing it'}`);
    else log.debug(`${node.path} is broken in the cache (${repair.detail})`);
    if (verdict.action === 'resign') {
      work.set(node.path, { narInfo: verdict.narInfo, durationMs: 0 });
      plan.repair(node, 'narinfo');
    } else {
      plan.repair(node, 'nar');
    }
  };

  const checks = mapConcurrent(plan.checkOrder, checkConcurrency, async (node) => {
    if (node.phase !== 'unchecked') return;
    if (options.available?.has(node.path)) {
      plan.checked(node, true);
    } else if (options.condemned?.has(narInfoKey(node.path))) {
      plan.checked(node, false);
    } else {
      try {
        if (verifying && node.info) await verify(node);
        else plan.checked(node, await store.has(narInfoKey(node.path)));
      } catch (error) {
        plan.failed(node, `could not check whether ${store.url} has it${verifying ? ' intact' : ''}: ${errorMessage(error)}`);
      }
    }
    wake();
  }).then(() => {
    const counts = countStatuses(plan);
    const left = { push: 0, repair: 0 };
    for (const node of plan.given()) {
      if (node.status === undefined || node.status === 'pushed' || node.status === 'repaired') left[node.repairing ? 'repair' : 'push']++;
    }
    log.info(`${counts.skipped} already in the cache, ${counts.upstream} served upstream${verifying ? `, ${left.repair} to repair` : ''}, ${left.push} to push`);
  });

  const maxCompressing = compressionParallelism(compression);
  let compressing = 0;
  // Started on the first upload: a push with nothing to upload needs none.
  const workerCount = options.narSource || compression.method === 'xz' ? 0 : (options.narWorkers ?? defaultNarWorkers());
  let workers: NarWorkerPool | undefined;
  const pool = (): NarWorkerPool | undefined => {
    if (workerCount > 0 && !workers) workers = new NarWorkerPool(workerCount);
    return workers;
  };

  const upload = async (node: PlanNode<PushPathInfo>): Promise<void> => {
    const info = node.info as PushPathInfo;
    const t0 = performance.now();
    try {
      const small = info.narSize <= BUFFERED_NAR_LIMIT;
      const request = { path: info.path, narHash: info.narHash, narSize: info.narSize, store, compression, ...(options.narSource ? { source: options.narSource } : {}), ...(small ? { workers: pool() } : {}) };
      const result = await withRetry(() => uploadNar(request), {
        what: `upload of the NAR of ${info.path}`,
        attempts: options.uploadAttempts ?? 3,
        log,
        // Small NARs go up as Buffers, which the store retries itself; a stream it cannot replay.
        isRetryable: (error) => info.narSize > BUFFERED_NAR_LIMIT && !(error instanceof NarMismatchError) && isTransientError(error),
      });
      work.set(node.path, { upload: result, durationMs: performance.now() - t0 });
      plan.uploaded(node);
    } catch (error) {
      work.set(node.path, { durationMs: performance.now() - t0 });
      const repair = repairs.get(node.path);
      // Its old narinfo stays as it was: nothing new points at a NAR that is not there.
      plan.failed(node, repair ? `its cache entry is broken (${repair.detail}) and re-uploading its NAR failed: ${errorMessage(error)}` : errorMessage(error));
    }
  };

  const writeNarInfo = async (node: PlanNode<PushPathInfo>): Promise<void> => {
    const info = node.info as PushPathInfo;
    const w = work.get(node.path) as Work;
    const t0 = performance.now();
    try {
      const text = renderNarInfo(w.narInfo ?? narInfoFor(info, w.upload as NarUploadResult, compression, options.signingKey));
      await store.put(narInfoKey(info.path), text, NARINFO_CONTENT_TYPE);
      w.durationMs += performance.now() - t0;
      plan.written(node);
    } catch (error) {
      w.durationMs += performance.now() - t0;
      plan.failed(node, `could not write its narinfo: ${errorMessage(error)}`);
    }
  };

  const lane = async (): Promise<void> => {
    for (;;) {
      const ready = plan.nextNarInfo();
      if (ready) {
        await writeNarInfo(ready);
        wake();
        continue;
      }
      const next = compressing < maxCompressing ? plan.nextUpload() : undefined;
      if (next) {
        compressing++;
        try {
          await upload(next);
        } finally {
          compressing--;
        }
        wake();
        continue;
      }
      if (plan.finished) return;
      await changed();
    }
  };

  try {
    await Promise.all([checks, ...Array.from({ length: concurrency }, lane)]);
  } finally {
    await workers?.close();
  }
  if (workers) logNarWorkers(workers.stats, log);

  const paths = [...plan.given()].map(resultOf);
  const totals = summarize(paths, performance.now() - started);
  if (failures > MAX_FAILURE_LINES) log.error(`${failures - MAX_FAILURE_LINES} more paths failed (details in the debug log)`);
  if (repairLines > MAX_FAILURE_LINES) log.info(`${repairLines - MAX_FAILURE_LINES} more broken cache entries (details in the debug log)`);
  log.info(
    `Pushed ${totals.pushed} paths (${formatBytes(totals.narBytes)} of NARs, ${formatBytes(totals.fileBytes)} uploaded) in ${formatDuration(totals.durationMs)}` +
      `; ${verifying ? `${totals.repaired} repaired, ` : ''}${totals.skipped} already cached, ${totals.upstream} upstream, ${totals.failed} failed, ${totals.blocked} blocked`,
  );
  return { paths, totals };
}

function logNarWorkers(stats: NarWorkerStats, log: Log): void {
  if (stats.prepared > 0) log.info(`${stats.prepared} NARs prepared in ${stats.threads} worker threads`);
  // Slower, not wrong: every refused NAR was prepared on the main thread instead.
  if (stats.refused > 0) log.warning(`${stats.refused} NARs prepared on the main thread, the worker threads being unavailable (${stats.why ?? 'no reason given'})`);
}

/** The narinfo for a path whose NAR is uploaded: its own signatures plus ours. */
export function narInfoFor(info: PushPathInfo, upload: NarUploadResult, compression: Compression, key: SigningKey | undefined): NarInfo {
  const narInfo: NarInfo = {
    storePath: info.path,
    url: upload.key,
    compression: narInfoCompression(compression.method),
    fileHash: upload.fileHash,
    fileSize: upload.fileSize,
    narHash: upload.narHash,
    narSize: upload.narSize,
    references: [...info.references],
    sigs: [...(info.signatures ?? [])],
  };
  if (info.deriver) narInfo.deriver = info.deriver;
  if (info.ca) narInfo.ca = info.ca;
  if (key) {
    const own = key.sign(fingerprint({ storePath: info.path, narHash: upload.narHash, narSize: upload.narSize, references: info.references }));
    // A signature by an older key of the same name would be one clients cannot verify.
    narInfo.sigs = [...narInfo.sigs.filter((sig) => !sig.startsWith(`${key.name}:`)), own];
  }
  return narInfo;
}

function signedUpstream(info: PushPathInfo, keys: readonly PublicKey[]): boolean {
  if (!info.signatures?.length) return false;
  try {
    return verifyAny(fingerprint({ storePath: info.path, narHash: info.narHash, narSize: info.narSize, references: info.references }), info.signatures, keys);
  } catch {
    return false;
  }
}

function pathInfoProblem(info: PushPathInfo): string | undefined {
  try {
    normalizeSha256(info.narHash);
  } catch (error) {
    return `its NarHash cannot be read: ${errorMessage(error)}`;
  }
  if (!Number.isSafeInteger(info.narSize) || info.narSize <= 0) return `its NarSize ${info.narSize} is not a positive number`;
  try {
    narInfoKey(info.path);
  } catch (error) {
    return errorMessage(error);
  }
  return undefined;
}

function uniqueByPath(paths: readonly PushPathInfo[]): PushPathInfo[] {
  const seen = new Map<string, PushPathInfo>();
  for (const info of paths) if (!seen.has(info.path)) seen.set(info.path, info);
  return [...seen.values()];
}

function sumNarSize(infos: readonly PushPathInfo[]): number {
  return infos.reduce((sum, info) => sum + (Number.isFinite(info.narSize) ? info.narSize : 0), 0);
}

function countStatuses(plan: PushPlan<PushPathInfo>): Record<PathStatus, number> {
  const counts: Record<PathStatus, number> = { pushed: 0, repaired: 0, skipped: 0, upstream: 0, failed: 0, blocked: 0 };
  for (const node of plan.given()) if (node.status) counts[node.status]++;
  return counts;
}

/** One result for pushes made one after another: each path's last outcome, durations added up. */
export function mergePushResults(results: readonly PushResult[]): PushResult {
  const byPath = new Map<string, PathPushResult>();
  for (const result of results) for (const path of result.paths) byPath.set(path.path, path);
  const paths = [...byPath.values()];
  return { paths, totals: summarize(paths, results.reduce((sum, r) => sum + r.totals.durationMs, 0)) };
}

function summarize(paths: readonly PathPushResult[], durationMs: number): PushTotals {
  const totals: PushTotals = { paths: paths.length, pushed: 0, repaired: 0, skipped: 0, upstream: 0, failed: 0, blocked: 0, narBytes: 0, fileBytes: 0, durationMs: Math.round(durationMs) };
  for (const p of paths) {
    totals[p.status]++;
    // A re-signed path uploaded no NAR (fileSize 0).
    if (p.status === 'pushed' || (p.status === 'repaired' && p.fileSize > 0)) {
      totals.narBytes += p.narSize;
      totals.fileBytes += p.fileSize;
    }
  }
  return totals;
}
