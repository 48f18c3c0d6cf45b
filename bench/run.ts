/**
 * One lane of `npm run bench` (bench/lanes.ts runs it with each Nix): fleet's push pipeline against
 * this machine's `nix copy` in the same run, on the same
 * synthetic closures, to the same kind of cache (nginx WebDAV, zstd, signed):
 *   - thousands of small paths on loopback, and behind a proxy adding 20 ms per request;
 *   - a no-op push of 5,000 paths (everything already cached);
 *   - large NARs, with fleet's peak RSS.
 * Sizes: BENCH_SMALL (2000), BENCH_NOOP (5000), BENCH_LARGE_MIB (256,1024,2048),
 * BENCH_LATENCY_MS (20). Then a rollout to BENCH_DEPLOY_HOSTS (50) simulated hosts with
 * max-concurrency 10 (root only), against the sum of the per-host times; and pushing while the
 * build runs against pushing after it (bench/push-while-building.ts); and the cache's garbage
 * collection over BENCH_GC_NARINFOS (200000; 0 skips it) narinfos and their NARs in s3rver: listing,
 * planning and sweep times, S3 requests by kind, peak RSS (bench/gc.ts; no peer, absolute figures);
 * and a pull host converging over a poor link cut every 30 s, against the same link undisturbed
 * (bench/poor-link.ts, root only; BENCH_POOR_LINK_MIB=0 skips it, about half an hour at its defaults).
 * Timings are printed, never asserted. BENCH_JSON=FILE also writes the rows as JSON for bench/lanes.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatBytes } from '../src/util/bytes.js';
import { formatDuration } from '../src/util/duration.js';
import { nixKeyPair } from '../test/support/keys.js';
import { startFaultProxy, startNginxCache } from '../test/support/servers/index.js';
import { benchDeploy, formatDeployBench } from './deploy.js';
import { benchGc, formatGcBench } from './gc.js';
import { benchPoorLink, formatPoorLinkBench } from './poor-link.js';
import { benchEarlyPush, formatEarlyPushBench } from './push-while-building.js';
import { importSynthetic, largePaths, smallClosure } from './synthetic.js';

const run = promisify(execFile);
const SMALL = Number(process.env.BENCH_SMALL ?? 2000);
const NOOP = Number(process.env.BENCH_NOOP ?? 5000);
const LARGE_MIB = (process.env.BENCH_LARGE_MIB ?? '256,1024,2048').split(',').filter(Boolean).map(Number);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const DEPLOY_HOSTS = Number(process.env.BENCH_DEPLOY_HOSTS ?? 50);
const GC_NARINFOS = Number(process.env.BENCH_GC_NARINFOS ?? 200_000);

const work = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
const keys = nixKeyPair('bench-1');
const keyFile = join(work, 'nix-copy-secret-key');
await writeFile(keyFile, keys.secret, { mode: 0o600 }); // for nix copy only; fleet keeps its key in memory
const nixEnv = { ...process.env, NIX_CONFIG: 'experimental-features = nix-command flakes\nsubstituters =\nsandbox = false' };
/** One scenario's result; bench/lanes.ts puts the rows of two Nix versions side by side. */
export interface BenchRow {
  scenario: string;
  fleetMs: number;
  nixCopyMs: number;
  fleetMaxRssBytes?: number;
}
const rows: BenchRow[] = [];

interface Measured {
  ms: number;
  maxRssBytes?: number;
}

async function fleetPush(cacheUrl: string, roots: readonly string[]): Promise<Measured & { pushed: number; failed: number }> {
  const { stdout } = await run(process.execPath, [...process.execArgv, join(import.meta.dirname, 'push-child.ts'), cacheUrl, ...roots], {
    env: { ...nixEnv, BENCH_SIGNING_KEY: keys.secret },
    maxBuffer: 1 << 26,
  });
  return JSON.parse(stdout) as Measured & { pushed: number; failed: number };
}

async function nixCopy(cacheUrl: string, roots: readonly string[]): Promise<Measured> {
  // A fresh cache dir: nix copy must not answer "already there" from an earlier run's narinfo cache.
  const xdg = await mkdtemp(join(work, 'xdg-'));
  const started = performance.now();
  await run('nix', ['copy', '--to', `${cacheUrl}?compression=zstd&secret-key=${keyFile}`, ...roots], { env: { ...nixEnv, XDG_CACHE_HOME: xdg }, maxBuffer: 1 << 26 });
  return { ms: performance.now() - started };
}

async function compare(label: string, roots: readonly string[], latencyMs = 0): Promise<void> {
  const measure = async (tool: (url: string, roots: readonly string[]) => Promise<Measured>) => {
    const nginx = await startNginxCache();
    const proxy = latencyMs > 0 ? await startFaultProxy(nginx.url, { latencyMs }) : undefined;
    try {
      return await tool(proxy?.url ?? nginx.url, roots);
    } finally {
      await proxy?.stop();
      await nginx.stop();
    }
  };
  const ours = await measure(fleetPush);
  const theirs = await measure(nixCopy);
  rows.push({ scenario: label, fleetMs: ours.ms, nixCopyMs: theirs.ms, ...(ours.maxRssBytes ? { fleetMaxRssBytes: ours.maxRssBytes } : {}) });
  console.error(`${label}: fleet ${formatDuration(ours.ms)}, nix copy ${formatDuration(theirs.ms)}`);
}

async function noop(count: number): Promise<void> {
  const closure = smallClosure(count, 'noop');
  await importSynthetic(closure.paths, nixEnv);
  const nginx = await startNginxCache();
  try {
    await fleetPush(nginx.url, [closure.root]);
    const ours = await fleetPush(nginx.url, [closure.root]);
    if (ours.pushed !== 0) throw new Error(`the no-op push pushed ${ours.pushed} paths`);
    const theirs = await nixCopy(nginx.url, [closure.root]);
    rows.push({ scenario: `no-op, ${count} paths cached`, fleetMs: ours.ms, nixCopyMs: theirs.ms, ...(ours.maxRssBytes ? { fleetMaxRssBytes: ours.maxRssBytes } : {}) });
    console.error(`no-op: fleet ${formatDuration(ours.ms)}, nix copy ${formatDuration(theirs.ms)}`);
  } finally {
    await nginx.stop();
  }
}

try {
  const nixVersion = (await run('nix', ['--version'])).stdout.trim();
  console.error(`nix: ${nixVersion}, node ${process.version}, ${SMALL} small paths, large NARs ${LARGE_MIB.join(', ')} MiB`);
  if (SMALL > 0) {
    const small = smallClosure(SMALL, 'small');
    await importSynthetic(small.paths, nixEnv);
    await compare(`${SMALL} small paths, loopback`, [small.root]);
    if (LATENCY_MS > 0) await compare(`${SMALL} small paths, +${LATENCY_MS} ms per request`, [small.root], LATENCY_MS);
  }
  if (NOOP > 0) await noop(NOOP);
  for (const mib of LARGE_MIB) {
    const [large] = largePaths([mib * 1024 * 1024], `${mib}m`);
    await importSynthetic([large!], nixEnv);
    await compare(`one ${formatBytes(mib * 1024 * 1024)} NAR, loopback`, [large!.path]);
    await run('nix-store', ['--delete', large!.path], { env: nixEnv }).catch(() => undefined);
  }
  console.log('\n| scenario | fleet | nix copy | fleet is | fleet peak RSS |\n|---|---|---|---|---|');
  for (const row of rows) {
    const cells = [row.scenario, formatDuration(row.fleetMs), formatDuration(row.nixCopyMs), `${(row.nixCopyMs / row.fleetMs).toFixed(1)}x`, row.fleetMaxRssBytes ? formatBytes(row.fleetMaxRssBytes) : ''];
    console.log(`| ${cells.join(' | ')} |`);
  }
  if (process.env.BENCH_JSON) await writeFile(process.env.BENCH_JSON, JSON.stringify({ nix: nixVersion, rows }));
  if (Number(process.env.BENCH_EARLY_HOSTS ?? 4) > 0) console.log(`\n${formatEarlyPushBench(await benchEarlyPush())}`);
  if (DEPLOY_HOSTS > 0 && process.getuid?.() === 0) console.log(`\n${formatDeployBench(await benchDeploy({ hosts: DEPLOY_HOSTS, maxConcurrency: 10 }))}`);
  if (GC_NARINFOS > 0) console.log(`\n${formatGcBench(await benchGc({ narinfos: GC_NARINFOS }))}`);
  if (Number(process.env.BENCH_POOR_LINK_MIB ?? 200) > 0 && process.getuid?.() === 0) console.log(`\n${formatPoorLinkBench(await benchPoorLink())}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
