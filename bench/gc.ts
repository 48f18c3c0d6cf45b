/**
 * The binary cache's garbage collection at scale (`npm run bench` calls it; `tsx bench/gc.ts` runs
 * it alone): BENCH_GC_NARINFOS (200000) narinfos, each with its NAR, in s3rver behind a counting
 * proxy, shaped like a fleet's cache: ~40 systems of several thousand paths each sharing a base of
 * ~2,000 paths and a few package pools, held by manifest pointers, host status reports (and their
 * earlier generations) and build records; the other half is garbage (older systems, builds and
 * generations past keep-builds / keep-generations, retired hosts). Then, each step in a child
 * process of its own (bench/gc-child.ts), so the peak RSS is the collector's alone:
 *   - one `store.listObjects('')`, alone;
 *   - collection 1 at T: lists, walks the roots' closures, condemns the rest (fleet/gc/condemned.json);
 *   - collection 2 at T + 2 × min-age: deletes what collection 1 condemned.
 * Printed: listing, planning and sweep times, S3 requests by kind, peak RSS, and per-1,000-object
 * rates. There is no peer to compare with (nix copy does not collect), so the figures are absolute;
 * they are printed, never asserted. What is checked: collection 2 deletes exactly the narinfos and
 * NARs made unreachable, and everything reachable is still there (a bench of a broken collection
 * would be worthless).
 *
 * s3rver runs in a process of its own (bench/gc-s3rver.ts, which explains the two costs of s3rver's
 * it replaces); both are sampled here as shipped and printed. BENCH_GC_STOCK_SAMPLES (6) pages are
 * timed. Setup (objects written straight into s3rver's directory in its own layout) is printed,
 * not measured.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderNarInfo, parseNarInfo } from '../src/cache/narinfo.js';
import { openStore } from '../src/cache/open-store.js';
import { buildRecordKey, writeBuildRecord, type BuildRecord } from '../src/gc/records.js';
import { formatNix32Hash, nix32Encode } from '../src/nix/hash.js';
import { mapConcurrent } from '../src/util/async.js';
import { formatBytes } from '../src/util/bytes.js';
import { formatDuration } from '../src/util/duration.js';
import { startFaultProxy, type FaultProxy, type FaultProxyStats } from '../test/support/servers/index.js';
import type { GcChildOptions, GcChildResult } from './gc-child.js';

const run = promisify(execFile);
const HOUR = 3_600_000;

export interface GcBenchOptions {
  /** Narinfos in the cache (each with its NAR); about half unreachable. */
  narinfos: number;
  /** Collection settings (defaults: 1 h, 3 builds per ref, 1 earlier generation, the collector's concurrency). */
  minAgeMs?: number;
  keepBuilds?: number;
  keepGenerations?: number;
  concurrency?: number;
  /** Pages of s3rver's own listing timed as shipped (default 6; 0 skips). */
  stockSamples?: number;
  /** Progress lines (default stderr). */
  progress?: (line: string) => void;
}

export interface RequestCounts {
  list: number;
  get: number;
  delete: number;
  put: number;
  other: number;
}

export interface GcStep {
  result: GcChildResult;
  requests: RequestCounts;
  /** CPU time s3rver's process used over the step (from /proc; undefined elsewhere). */
  s3rverCpuMs?: number;
}

export interface GcBenchResult {
  narinfos: number;
  nars: number;
  /** Objects the listing returns (narinfos, NARs, fleet/ documents, nix-cache-info). */
  objects: number;
  reachable: number;
  unreachable: number;
  systems: number;
  oldSystems: number;
  sharedBase: number;
  /** Smallest and largest closure of a live system. */
  closure: { min: number; max: number };
  roots: { pointers: number; reports: number; builds: number };
  settings: { minAgeMs: number; keepBuilds: number; keepGenerations: number; concurrency?: number };
  setup: { writeMs: number; fleetMs: number };
  /** s3rver as shipped, on this bucket: sampled page times, and what a whole listing and a sweep would take. */
  stock?: { samples: { startAfter: string; ms: number }[]; pages: number; listingMs: number; deleteKeyMs: number; sweepMs: number };
  stockListing: boolean;
  baseline: GcChildResult;
  listing: GcStep;
  first: GcStep;
  second: GcStep;
  /** Checked after collection 2. */
  verified: { deletedNarinfos: number; deletedNars: number; remainingNarinfos: number; sampleRead: number };
}

// ── The synthetic cache ─────────────────────────────────────────────────────────────────────

interface SynthPath {
  hash: string;
  name: string;
  nar: string;
  refs: number[];
  narSize: number;
  fileSize: number;
}

interface SyntheticCache {
  paths: SynthPath[];
  /** The fleet documents, by key (pointers and status reports; build records separately). */
  documents: Map<string, string>;
  builds: BuildRecord[];
  /** Path ids reachable from what the collection keeps (our own walk, independent of the collector's). */
  reachable: Set<number>;
  systems: number;
  oldSystems: number;
  sharedBase: number;
  closure: { min: number; max: number };
  roots: GcBenchResult['roots'];
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
/** A store path's hash part as Nix makes it: 160 bits in nix32, 32 characters. */
const hashPart = (seed: string): string => nix32Encode(sha256(seed).subarray(0, 20));
const storePath = (p: SynthPath): string => `/nix/store/${p.hash}-${p.name}`;
const STEMS = ['glibc-2.40-66', 'gcc-14.2.1.20250322-lib', 'openssl-3.4.1', 'systemd-257.5', 'python3-3.12.10', 'perl-5.40.0', 'bash-5.2p37', 'coreutils-9.7', 'util-linux-2.41-lib', 'linux-6.12.30-modules', 'nginx-1.28.0', 'postgresql-17.5', 'nodejs-22.16.0', 'rust-std-1.86.0', 'zlib-1.3.1', 'curl-8.14.1', 'etc', 'unit-script', 'source', 'firmware', 'python3.12-requests-2.32.3', 'libxml2-2.13.8', 'icu4c-76.1', 'ncurses-6.5', 'xz-5.8.1'];

/**
 * ~40 live systems (N / 5,000, at least 2), each toplevel over its own paths (0.6 to 1.4 times
 * the mean), two of 8 shared pools and a base of min(2,000, 20 % of the live half); as many old
 * systems over an old base make the other half. Within a group references form a tree (4 children
 * each, so closures are a few levels deep, like real ones) plus two cross references to later
 * paths and one or two to the group below (base, or pool).
 */
export function syntheticCache(narinfos: number, settings: { keepBuilds: number; keepGenerations: number }): SyntheticCache {
  if (narinfos < 1000) throw new Error(`BENCH_GC_NARINFOS must be at least 1000 (got ${narinfos})`);
  const rand = random(narinfos);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const paths: SynthPath[] = [];
  const seen = new Set<string>();
  const add = (name: string): number => {
    const id = paths.length;
    const hash = hashPart(`gc-bench:path:${id}`);
    if (seen.has(hash)) throw new Error(`hash collision at path ${id}`);
    seen.add(hash);
    // Compressed sizes from 2 KiB to 64 MiB, log-uniform; NARs 2-4 times larger.
    const fileSize = Math.round(Math.exp(Math.log(2048) + rand() * (Math.log(64 * 1024 * 1024) - Math.log(2048))));
    paths.push({ hash, name, nar: `nar/${nix32Encode(sha256(`gc-bench:file:${id}`))}.nar.zst`, refs: [], fileSize, narSize: Math.round(fileSize * (2 + 2 * rand())) });
    return id;
  };
  const group = (size: number, name: (j: number) => string, below: readonly number[]): number[] => {
    const ids = Array.from({ length: size }, (_, j) => add(name(j)));
    for (const [j, id] of ids.entries()) {
      const refs = (paths[id] as SynthPath).refs;
      for (let child = 4 * j + 1; child <= 4 * j + 4 && child < size; child++) refs.push(ids[child] as number);
      for (let k = 0; k < 2 && j + 1 < size; k++) refs.push(ids[j + 1 + Math.floor(rand() * (size - j - 1))] as number);
      if (below.length > 0) for (let k = 0; k < 1 + Math.floor(rand() * 2); k++) refs.push(pick(below));
      if (rand() < 0.1) refs.push(id); // some paths reference themselves, as Nix's do
    }
    return ids;
  };

  const live = Math.round(narinfos / 2);
  const systems = Math.min(40, Math.max(2, Math.round(narinfos / 5000)));
  const pullHosts = Array.from({ length: systems }, (_, s) => s).filter((s) => s % 5 === 0);
  const baseSize = Math.min(2000, Math.round(live * 0.2));
  const poolCount = Math.min(8, systems);
  const poolSize = Math.round((live * 0.08) / poolCount);
  // Systems' own paths vary from 0.6 to 1.4 times the mean, so closures differ.
  const ownMean = (live - baseSize - poolCount * poolSize - pullHosts.length) / systems;
  const ownSizes = Array.from({ length: systems }, (_, s) => Math.max(1, Math.round(ownMean * (0.6 + (0.8 * ((7 * s) % systems)) / Math.max(1, systems - 1)))));
  const garbage = narinfos - baseSize - poolCount * poolSize - ownSizes.reduce((a, b) => a + b, 0) - pullHosts.length;
  const oldBaseSize = Math.round(garbage * 0.1);
  const oldSystems = systems;

  const base = group(baseSize, (j) => (j === 0 ? 'glibc-2.40-66' : `${pick(STEMS)}-b${j}`), []);
  const pools = Array.from({ length: poolCount }, (_, p) => group(poolSize, (j) => `${pick(STEMS)}-p${p}.${j}`, base));
  const system = Array.from({ length: systems }, (_, s) => {
    const ids = group(ownSizes[s] as number, (j) => (j === 0 ? `nixos-system-host${s}-25.05.20250601.${s}` : `${pick(STEMS)}-s${s}.${j}`), [...base, ...(pools[s % poolCount] as number[])]);
    const top = (paths[ids[0] as number] as SynthPath).refs;
    top.push(base[0] as number, (pools[s % poolCount] as number[])[0] as number, (pools[(3 * s + 1) % poolCount] as number[])[0] as number);
    return ids[0] as number;
  });
  const manifests = new Map(pullHosts.map((s) => [s, add(`fleet-manifest-production-host${s}`)]));
  const oldBase = group(oldBaseSize, (j) => `${pick(STEMS)}-old${j}`, base);
  const oldLeft = garbage - oldBaseSize;
  const old = Array.from({ length: oldSystems }, (_, g) => {
    const size = Math.floor(oldLeft / oldSystems) + (g < oldLeft % oldSystems ? 1 : 0);
    const ids = group(size, (j) => (j === 0 ? `nixos-system-host${g}-24.11.20250101.${g}` : `${pick(STEMS)}-o${g}.${j}`), [...oldBase, ...base]);
    (paths[ids[0] as number] as SynthPath).refs.push(oldBase[0] as number, (pools[g % poolCount] as number[])[0] as number);
    return ids[0] as number;
  });
  if (paths.length !== narinfos) throw new Error(`made ${paths.length} narinfos instead of ${narinfos}`);

  // Roots. Live system s: s % 5 = 0 a pull host (pointer), 1 a host reporting its status (its first
  // earlier generation is system s + 1), 3 and 4 in the last keep-builds build records of main.
  // Old system g: g % 3 = 0 in older build records, 1 an earlier generation past keep-generations, 2 nowhere.
  const documents = new Map<string, string>();
  const kept: number[] = [];
  const at = (day: number) => new Date(Date.UTC(2026, 10, day, 10)).toISOString();
  const narHash = (id: number) => formatNix32Hash({ algorithm: 'sha256', digest: sha256(`gc-bench:nar:${id}`) });
  for (const [s, manifest] of manifests) {
    const sys = storePath(paths[system[s] as number] as SynthPath);
    documents.set(`fleet/production/host${s}.json`, `${JSON.stringify({ format: 1, storePath: storePath(paths[manifest] as SynthPath), narHash: narHash(manifest), narSize: 1024, signatures: [], manifest: { system: sys } }, null, 2)}\n`);
    kept.push(manifest, system[s] as number);
  }
  const oldGenerations = old.filter((_, g) => g % 3 === 1);
  let reports = 0;
  for (let s = 1; s < systems; s += 5) {
    // Newest first: the live system s + 1, then two old ones (past keep-generations, 1 by default).
    const from = (reports * 2) % Math.max(1, oldGenerations.length);
    const earlier = s + 1 < systems ? [system[s + 1] as number, ...oldGenerations.slice(from, from + 2)] : [];
    const sys = storePath(paths[system[s] as number] as SynthPath);
    documents.set(
      `fleet/status/host${s}.json`,
      JSON.stringify({ format: 1, host: `host${s}`, system: sys, booted: sys, profileGeneration: 40 + s, failedUnits: [], needsReboot: false, lastError: null, reportedAt: at(30), adoptedAt: at(29), manifestSequence: 12, agentVersion: '0.1.0', desired: null, generations: earlier.map((id) => storePath(paths[id] as SynthPath)) }),
    );
    kept.push(system[s] as number, ...earlier.slice(0, settings.keepGenerations));
    reports++;
  }
  // Build records of main, one a day: the older ones (past keep-builds) hold the old systems.
  const built = system.filter((_, s) => s % 5 === 3 || s % 5 === 4);
  const oldBuilt = old.filter((_, g) => g % 3 === 0);
  const oldRecords = Math.max(1, Math.min(oldBuilt.length, 3));
  const builds: BuildRecord[] = [];
  const record = (day: number, ids: readonly number[]): BuildRecord => ({
    format: 1,
    ref: 'refs/heads/main',
    sha: sha256(`gc-bench:commit:${day}`).toString('hex').slice(0, 40),
    builtAt: at(day),
    storePaths: Object.fromEntries(ids.map((id) => [paths[id]?.name.replace(/^nixos-system-(host\d+)-.*$/, '$1') ?? `${id}`, storePath(paths[id] as SynthPath)])),
  });
  for (let r = 0; r < oldRecords; r++) builds.push(record(1 + r, oldBuilt.filter((_, i) => i % oldRecords === r)));
  for (let r = 0; r < settings.keepBuilds; r++) {
    const ids = built.filter((_, i) => i % settings.keepBuilds === r);
    builds.push(record(10 + r, ids.length > 0 ? ids : [system[0] as number]));
  }
  const systemIds = new Map([...system, ...old].map((id) => [storePath(paths[id] as SynthPath), id]));
  for (const b of builds.slice(-settings.keepBuilds)) for (const p of Object.values(b.storePaths)) kept.push(systemIds.get(p) as number);

  const closureOf = (from: readonly number[]): Set<number> => {
    const found = new Set<number>();
    const stack = [...from];
    while (stack.length > 0) {
      const id = stack.pop() as number;
      if (found.has(id)) continue;
      found.add(id);
      for (const ref of (paths[id] as SynthPath).refs) if (!found.has(ref)) stack.push(ref);
    }
    return found;
  };
  const sizes = system.map((id) => closureOf([id]).size);
  return {
    paths,
    documents,
    builds,
    reachable: closureOf(kept),
    systems,
    oldSystems,
    sharedBase: baseSize,
    closure: { min: Math.min(...sizes), max: Math.max(...sizes) },
    roots: { pointers: manifests.size, reports, builds: builds.length },
  };
}

function narinfoText(p: SynthPath, paths: readonly SynthPath[], id: number): string {
  return renderNarInfo({
    storePath: storePath(p),
    url: p.nar,
    compression: 'zstd',
    fileHash: formatNix32Hash({ algorithm: 'sha256', digest: sha256(`gc-bench:file:${id}`) }),
    fileSize: p.fileSize,
    narHash: formatNix32Hash({ algorithm: 'sha256', digest: sha256(`gc-bench:nar:${id}`) }),
    narSize: p.narSize,
    references: p.refs.map((r) => storePath(paths[r] as SynthPath)),
    deriver: `/nix/store/${hashPart(`gc-bench:drv:${id}`)}-${p.name}.drv`,
    sigs: [`cache.example.org-1:${createHash('sha512').update(`gc-bench:sig:${id}`).digest('base64')}`],
  });
}

// ── s3rver, its layout and its own costs ─────────────────────────────────────────────────────

interface ServerHandle {
  endpoint: string;
  bucket: string;
  cacheUrl: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  directory: string;
  stockListing: boolean;
  process: ChildProcess;
}

async function startServer(): Promise<ServerHandle> {
  const child = fork(join(import.meta.dirname, 'gc-s3rver.ts'), [], { execArgv: [...process.execArgv, '--openssl-legacy-provider'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`bench/gc-s3rver.ts exited (${signal ?? code}) before it was ready`)));
    child.once('message', (message: Omit<ServerHandle, 'process'> & { type: string }) => {
      child.removeAllListeners('exit');
      resolve({ ...message, process: child });
    });
  });
}

async function stopServer(server: ServerHandle): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ type: 'stop' });
  // Removing a bucket of a million files takes a while; past 10 minutes, it is killed.
  const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  await exited;
  clearTimeout(timer);
}

/** One object in s3rver's directory layout: `<key>._S3rver_object`, `.object.md5`, `_metadata.json`. */
async function writeS3rverObject(bucketDir: string, key: string, body: Buffer | string, contentType: string): Promise<void> {
  const base = join(bucketDir, `${key}._S3rver_`);
  await Promise.all([
    writeFile(`${base}object`, body),
    writeFile(`${base}object.md5`, createHash('md5').update(body).digest('hex')),
    writeFile(`${base}metadata.json`, JSON.stringify({ 'content-type': contentType }, null, 2)),
  ]);
}

interface StockStore {
  listObjects(bucket: string, options: { maxKeys: number; startAfter?: string }): Promise<{ objects: unknown[] }>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

/** s3rver's own FilesystemStore (this process never patches it) on the bench's bucket. */
async function sampleStock(server: ServerHandle, keys: readonly string[], samples: number): Promise<NonNullable<GcBenchResult['stock']>> {
  const require = createRequire(import.meta.url);
  const Store = require('s3rver/lib/stores/filesystem.js') as new (directory: string) => StockStore;
  const stock = new Store(server.directory);
  const pages = Math.ceil(keys.length / 1000);
  const timed: { startAfter: string; ms: number }[] = [];
  for (let k = 0; k < samples; k++) {
    // Full pages only: the last one may hold a few keys.
    const full = Math.max(1, Math.floor(keys.length / 1000));
    const page = Math.min(full - 1, Math.round((k * (full - 1)) / Math.max(1, samples - 1)));
    const startAfter = page === 0 ? undefined : keys[page * 1000 - 1];
    const started = performance.now();
    await stock.listObjects(server.bucket, { maxKeys: 1000, ...(startAfter ? { startAfter } : {}) });
    timed.push({ startAfter: startAfter ?? '', ms: performance.now() - started });
  }
  // A probe NAR, deleted the way s3rver deletes each key of a DeleteObjects.
  const probe = `nar/${'z'.repeat(52)}.nar.zst`;
  await writeS3rverObject(join(server.directory, server.bucket), probe, 'probe', 'application/x-nix-nar');
  const started = performance.now();
  await stock.deleteObject(server.bucket, probe);
  const deleteKeyMs = performance.now() - started;
  const mean = timed.reduce((sum, t) => sum + t.ms, 0) / Math.max(1, timed.length);
  return { samples: timed, pages, listingMs: mean * pages, deleteKeyMs, sweepMs: 0 };
}

// ── The steps ────────────────────────────────────────────────────────────────────────────────

function countRequests(log: FaultProxyStats['log']): RequestCounts {
  const counts: RequestCounts = { list: 0, get: 0, delete: 0, put: 0, other: 0 };
  for (const { method, path } of log.splice(0)) {
    if (method === 'GET' && /[?&]list-type=2/.test(path)) counts.list++;
    else if (method === 'GET') counts.get++;
    else if (method === 'POST' && /[?&]delete(=|&|$)/.test(path)) counts.delete++;
    else if (method === 'PUT') counts.put++;
    else counts.other++;
  }
  return counts;
}

/** User + system CPU time of a process, from /proc/PID/stat (clock ticks of 10 ms). */
async function cpuMsOf(pid: number | undefined): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields ? (Number(fields[11]) + Number(fields[12])) * 10 : undefined;
}

async function step(mode: GcChildResult['mode'], cacheUrl: string, options: GcChildOptions, proxy: FaultProxy, server: ServerHandle): Promise<GcStep> {
  proxy.stats.log.splice(0);
  const serverCpu = await cpuMsOf(server.process.pid);
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, [...process.execArgv, join(import.meta.dirname, 'gc-child.ts'), mode, cacheUrl, JSON.stringify(options)], { maxBuffer: 1 << 26 }));
  } catch (error) {
    throw new Error(`bench/gc-child.ts ${mode} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  }
  const serverCpuAfter = await cpuMsOf(server.process.pid);
  return {
    result: JSON.parse(stdout) as GcChildResult,
    requests: countRequests(proxy.stats.log),
    ...(serverCpu !== undefined && serverCpuAfter !== undefined ? { s3rverCpuMs: serverCpuAfter - serverCpu } : {}),
  };
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`gc bench: ${what}; the figures would measure a broken collection`);
}

export async function benchGc(options: GcBenchOptions): Promise<GcBenchResult> {
  const progress = options.progress ?? ((line: string) => console.error(line));
  const settings = { minAgeMs: options.minAgeMs ?? HOUR, keepBuilds: options.keepBuilds ?? 3, keepGenerations: options.keepGenerations ?? 1, ...(options.concurrency ? { concurrency: options.concurrency } : {}) };
  const cache = syntheticCache(options.narinfos, settings);
  const { paths, reachable } = cache;
  const unreachable = paths.length - reachable.size;
  progress(`gc: ${paths.length} narinfos (${reachable.size} reachable from ${cache.systems} systems, closures ${cache.closure.min}-${cache.closure.max} paths; ${unreachable} unreachable)`);

  const server = await startServer();
  let proxy: FaultProxy | undefined;
  const direct = openStore(server.cacheUrl, { credentials: server.credentials });
  try {
    const setupStarted = Date.now();
    let started = performance.now();
    const bucketDir = join(server.directory, server.bucket);
    await mkdir(join(bucketDir, 'nar'), { recursive: true });
    await mapConcurrent(paths, 64, async (p, id) => {
      await writeS3rverObject(bucketDir, `${p.hash}.narinfo`, narinfoText(p, paths, id), 'text/x-nix-narinfo');
      // NAR bodies are small stand-ins: the collection reads only their keys, sizes and dates.
      await writeS3rverObject(bucketDir, p.nar, sha256(`gc-bench:body:${id}`), 'application/x-nix-nar');
    });
    const writeMs = performance.now() - started;
    started = performance.now();
    await direct.put('nix-cache-info', 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n', 'text/x-nix-cache-info');
    for (const [key, body] of cache.documents) await direct.put(key, body, 'application/json');
    for (const record of cache.builds) await writeBuildRecord(direct, record);
    const fleetMs = performance.now() - started;
    const setupDone = Date.now();
    const keys = [...paths.flatMap((p) => [`${p.hash}.narinfo`, p.nar]), 'nix-cache-info', ...cache.documents.keys(), ...cache.builds.map(buildRecordKey)].sort();
    progress(`gc: wrote ${2 * paths.length} objects into s3rver's directory in ${formatDuration(writeMs)}, ${cache.documents.size + cache.builds.length + 1} fleet documents through S3 in ${formatDuration(fleetMs)}`);

    const samples = options.stockSamples ?? 6;
    let stock: GcBenchResult['stock'];
    if (samples > 0) {
      stock = await sampleStock(server, keys, samples);
      stock.sweepMs = stock.deleteKeyMs * unreachable; // narinfos sit at the top, where s3rver reads no directory
      progress(`gc: s3rver as shipped: ${stock.samples.map((s) => formatDuration(s.ms)).join(', ')} per page across the bucket, so a whole listing of ${stock.pages} pages takes about ${formatDuration(stock.listingMs)}; deleting one NAR key ${formatDuration(stock.deleteKeyMs)}`);
    }

    proxy = await startFaultProxy(server.endpoint);
    const viaProxy = server.cacheUrl.replace(encodeURIComponent(server.endpoint), encodeURIComponent(proxy.endpoint));
    const child: GcChildOptions = { credentials: server.credentials, minAgeMs: settings.minAgeMs, keepBuilds: settings.keepBuilds, keepGenerations: settings.keepGenerations, ...(settings.concurrency ? { concurrency: settings.concurrency } : {}) };
    const baseline = (await step('baseline', viaProxy, child, proxy, server)).result;
    const objects = 2 * paths.length + 1 + cache.documents.size + cache.builds.length;

    const listing = await step('list', viaProxy, child, proxy, server);
    progress(`gc: listing alone ${formatDuration(listing.result.ms)} (${listing.requests.list} pages)`);
    check(listing.result.listed === objects, `the listing returned ${listing.result.listed} objects, not ${objects}`);
    const oldest = Date.parse(listing.result.oldest ?? '');
    const newest = Date.parse(listing.result.newest ?? '');
    check(oldest >= Math.floor(setupStarted / 1000) * 1000 - 1000 && newest <= setupDone + 1000, `s3rver listed LastModified ${listing.result.oldest}..${listing.result.newest}, outside the setup ${new Date(setupStarted).toISOString()}..${new Date(setupDone).toISOString()}`);

    // T is 2 × min-age after the last write: nothing is young. Collection 2 runs 2 × min-age later.
    const first = await step('collect', viaProxy, { ...child, now: new Date(setupDone + 2 * settings.minAgeMs).toISOString() }, proxy, server);
    const r1 = first.result.report;
    progress(`gc: collection 1 ${formatDuration(first.result.ms)} (${formatDuration(first.result.listMs)} listing), condemned ${r1?.condemned.narinfos} narinfos`);
    check(r1?.listed.narinfos === paths.length && r1.kept.narinfos === reachable.size, `collection 1 kept ${r1?.kept.narinfos} of ${r1?.listed.narinfos} narinfos, not ${reachable.size} of ${paths.length}`);
    check(r1.condemned.narinfos === unreachable && r1.condemned.nars === unreachable && r1.deleted.narinfos === 0 && r1.missing === 0, `collection 1 condemned ${r1.condemned.narinfos} narinfos and ${r1.condemned.nars} NARs, deleted ${r1.deleted.narinfos}, found ${r1.missing} missing; expected ${unreachable}, ${unreachable}, 0, 0`);

    const second = await step('collect', viaProxy, { ...child, now: new Date(setupDone + 4 * settings.minAgeMs).toISOString() }, proxy, server);
    const r2 = second.result.report;
    progress(`gc: collection 2 ${formatDuration(second.result.ms)} (${formatDuration(second.result.deleteMs)} deleting), deleted ${r2?.deleted.narinfos} narinfos and ${r2?.deleted.nars} NARs`);
    check(r2?.deleted.narinfos === unreachable && r2.deleted.nars === unreachable, `collection 2 deleted ${r2?.deleted.narinfos} narinfos and ${r2?.deleted.nars} NARs, not the ${unreachable} made unreachable`);
    check(r2.spared === 0 && r2.missing === 0, `collection 2 spared ${r2.spared} and found ${r2.missing} missing`);

    // What is left is exactly the reachable half, and its narinfos still read back.
    const left = await direct.listObjects('');
    const leftKeys = new Set(left.map((o) => o.key));
    const wanted = [...reachable].flatMap((id) => [`${paths[id]?.hash}.narinfo`, paths[id]?.nar as string]);
    const missing = wanted.filter((k) => !leftKeys.has(k));
    check(missing.length === 0, `${missing.length} objects of reachable paths are gone (first: ${missing[0]})`);
    const remainingNarinfos = left.filter((o) => o.key.endsWith('.narinfo')).length;
    const remainingNars = left.filter((o) => o.key.startsWith('nar/')).length;
    check(remainingNarinfos === reachable.size && remainingNars === reachable.size, `${remainingNarinfos} narinfos and ${remainingNars} NARs are left, not ${reachable.size} of each`);
    const ids = [...reachable];
    const sample = Array.from({ length: Math.min(200, ids.length) }, (_, i) => ids[Math.floor((i * ids.length) / Math.min(200, ids.length))] as number);
    await mapConcurrent(sample, 16, async (id) => {
      const p = paths[id] as SynthPath;
      const body = await direct.get(`${p.hash}.narinfo`);
      check(body !== undefined && parseNarInfo(body.toString('utf8')).storePath === storePath(p), `${p.hash}.narinfo (reachable) does not read back`);
    });

    return {
      narinfos: paths.length,
      nars: paths.length,
      objects,
      reachable: reachable.size,
      unreachable,
      systems: cache.systems,
      oldSystems: cache.oldSystems,
      sharedBase: cache.sharedBase,
      closure: cache.closure,
      roots: cache.roots,
      settings,
      setup: { writeMs, fleetMs },
      ...(stock ? { stock } : {}),
      stockListing: server.stockListing,
      baseline,
      listing,
      first,
      second,
      verified: { deletedNarinfos: r2.deleted.narinfos, deletedNars: r2.deleted.nars, remainingNarinfos, sampleRead: sample.length },
    };
  } finally {
    await direct.close();
    await proxy?.stop();
    await stopServer(server);
  }
}

// ── The table ────────────────────────────────────────────────────────────────────────────────

const n = (value: number) => value.toLocaleString('en-US');
const per1000 = (ms: number, objects: number) => (objects > 0 ? formatDuration((ms * 1000) / objects) : '');

export function formatGcBench(r: GcBenchResult): string {
  const { listing, first, second } = r;
  const rss = (s: GcStep) => formatBytes(s.result.maxRssBytes);
  const cpu = (s: GcStep) => [formatDuration(s.result.cpuMs), s.s3rverCpuMs === undefined ? '' : formatDuration(s.s3rverCpuMs)];
  const req = (c: Partial<RequestCounts>) => [c.list, c.get, c.delete, c.put].map((v) => (v === undefined ? '' : n(v)));
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const plan1 = first.result.ms - first.result.listMs;
  const plan2 = second.result.ms - second.result.listMs - second.result.deleteMs;
  const deleted = (second.result.report?.deleted.narinfos ?? 0) + (second.result.report?.deleted.nars ?? 0);
  const perObject = (s: GcStep) => Math.max(0, s.result.maxRssBytes - r.baseline.maxRssBytes) / r.objects;
  const lines = [
    `Cache garbage collection at scale: ${n(r.narinfos)} narinfos + ${n(r.nars)} NARs (${n(r.objects)} objects) in s3rver, ${n(r.reachable)} reachable from ${r.systems} systems (closures of ${n(r.closure.min)}-${n(r.closure.max)} paths sharing a base of ${n(r.sharedBase)}; ${r.roots.pointers} manifest pointers, ${r.roots.reports} status reports, ${r.roots.builds} build records), ${n(r.unreachable)} unreachable; min-age ${formatDuration(r.settings.minAgeMs)}, keep-builds ${r.settings.keepBuilds}, keep-generations ${r.settings.keepGenerations}, concurrency ${r.settings.concurrency ?? '32 (default)'}`,
    '',
    '| step | time | per 1,000 objects | ListObjectsV2 | GetObject | DeleteObjects | PutObject | collector CPU | s3rver CPU | peak RSS | outcome |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    row(['listing alone (`store.listObjects(\'\')`)', formatDuration(listing.result.ms), per1000(listing.result.ms, r.objects), ...req(listing.requests), ...cpu(listing), rss(listing), `${n(listing.result.listed)} objects`]),
    row(['collection 1 at T, whole', formatDuration(first.result.ms), per1000(first.result.ms, r.objects), ...req(first.requests), ...cpu(first), rss(first), `${n(first.result.report?.condemned.narinfos ?? 0)} narinfos + ${n(first.result.report?.condemned.nars ?? 0)} NARs condemned`]),
    row(['&nbsp;&nbsp;listing', formatDuration(first.result.listMs), per1000(first.result.listMs, r.objects), n(first.requests.list), '', '', '', '', '', '', '']),
    row(['&nbsp;&nbsp;planning (roots, closure walk, condemned narinfos read, record written)', formatDuration(plan1), per1000(plan1, r.objects), '', n(first.requests.get), '', n(first.requests.put), '', '', '', `record ${formatBytes(first.result.putBytes)} written in ${formatDuration(first.result.putMs)}`]),
    row(['collection 2 at T + 2 × min-age, whole', formatDuration(second.result.ms), per1000(second.result.ms, r.objects), ...req(second.requests), ...cpu(second), rss(second), `${n(r.verified.deletedNarinfos)} narinfos + ${n(r.verified.deletedNars)} NARs deleted`]),
    row([`&nbsp;&nbsp;listings (${second.result.listings}: before planning, before the sweep)`, formatDuration(second.result.listMs), per1000(second.result.listMs, second.result.listings * r.objects), n(second.requests.list), '', '', '', '', '', '', '']),
    row(['&nbsp;&nbsp;planning (record read, closure walk, record written)', formatDuration(plan2), per1000(plan2, r.objects), '', n(second.requests.get), '', n(second.requests.put), '', '', '', '']),
    row(['&nbsp;&nbsp;sweep (DeleteObjects)', formatDuration(second.result.deleteMs), per1000(second.result.deleteMs, deleted), '', '', n(second.requests.delete), '', '', '', '', `${n(second.result.deletedKeys)} keys`]),
    '',
    `Per 1,000 objects: of the ${n(r.objects)} in the bucket (listings: per listing), of the ${n(deleted)} deleted for the sweep. CPU: user + system time over the step of the collector's process and of s3rver's (the machine has ${availableParallelism()} cores; the proxy counting requests runs in a third). Peak RSS is the collector's process (node, tsx and the SDK alone: ${formatBytes(r.baseline.maxRssBytes)}), so about ${Math.round(perObject(first))} bytes per object listed in collection 1 and ${Math.round(perObject(second))} in collection 2.`,
    `Checked: collection 2 deleted exactly the ${n(r.unreachable)} unreachable narinfos and their NARs; the ${n(r.verified.remainingNarinfos)} reachable narinfos and NARs are all left, ${r.verified.sampleRead} of them read back. Setup (not measured): ${n(2 * r.narinfos)} objects written into s3rver's directory in ${formatDuration(r.setup.writeMs)}, fleet documents through S3 in ${formatDuration(r.setup.fleetMs)}.`,
  ];
  const s = r.stock;
  if (s) {
    lines.push(
      `s3rver as shipped re-walks the bucket for every ListObjectsV2 page (readdir of each directory, a stat of every file before the continuation key): ${s.samples.map((x) => formatDuration(x.ms)).join(', ')} per page from the first to the last, so a whole listing of ${n(s.pages)} pages would take about ${formatDuration(s.listingMs)} (${per1000(s.listingMs, r.objects)} per 1,000 objects), all of it s3rver's; and it reads the whole directory after each key it deletes (${formatDuration(s.deleteKeyMs)} per NAR key here, so about ${formatDuration(s.sweepMs)} for this sweep's NARs).`,
    );
  }
  lines.push(
    r.stockListing
      ? 'This run kept s3rver\'s own listing (BENCH_GC_STOCK_LISTING=1): the listing times above are s3rver\'s walk, not fleet\'s.'
      : `This run's s3rver (bench/gc-s3rver.ts) serves pages from a sorted key index and deletes without the directory read (BENCH_GC_STOCK_LISTING=1 keeps its walk). Even so the listing is mostly s3rver's, which reads each listed object's metadata from disk${r.listing.s3rverCpuMs === undefined ? '' : `: the listing alone took ${formatDuration(r.listing.s3rverCpuMs)} of s3rver's CPU against ${formatDuration(r.listing.result.cpuMs)} of the collector's`}; the collector's CPU (${per1000(r.listing.result.cpuMs, r.objects)} per 1,000 objects listed, ${formatDuration(r.first.result.cpuMs / Math.max(1, r.first.requests.get))} per narinfo read in collection 1) is what fleet and the SDK cost.`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const narinfos = Number(process.env.BENCH_GC_NARINFOS ?? 200_000);
  console.log(formatGcBench(await benchGc({ narinfos, ...(process.env.BENCH_GC_STOCK_SAMPLES ? { stockSamples: Number(process.env.BENCH_GC_STOCK_SAMPLES) } : {}) })));
}
