/**
 * Push while the build runs (`npm run bench` calls it; `tsx bench/push-while-building.ts` runs it
 * alone): BENCH_EARLY_HOSTS (4) hosts whose builds run one after another (max-jobs 1), each
 * sleeping BENCH_EARLY_SLEEP_S (3) seconds and writing BENCH_EARLY_MIB (32) MiB of incompressible
 * data, built and pushed by the action-build bundle to an nginx cache, twice: as a push event
 * (each host pushed as soon as it is built) and as a pull request (everything pushed once the
 * build is over). Printed: when the first and the last host were whole in the cache, and the wall
 * time of the whole step. Timings are printed, never asserted.
 */
import { readFile } from 'node:fs/promises';
import { formatDuration } from '../src/util/duration.js';
import { runAction } from '../test/support/harness.js';
import { nixKeyPair } from '../test/support/keys.js';
import { shDerivation, writeFlake } from '../test/support/nix.js';
import { startNginxCache } from '../test/support/servers/index.js';

const HOSTS = Number(process.env.BENCH_EARLY_HOSTS ?? 4);
const SLEEP_S = Number(process.env.BENCH_EARLY_SLEEP_S ?? 3);
const MIB = Number(process.env.BENCH_EARLY_MIB ?? 32);

export interface EarlyPushBench {
  mode: string;
  wallMs: number;
  firstInCacheMs: number;
  lastInCacheMs: number;
  buildMs: number;
}

async function measure(mode: 'push' | 'pull_request'): Promise<EarlyPushBench> {
  const salt = `${mode}-${process.pid}-${Date.now()}`;
  const packages = Array.from({ length: HOSTS }, (_, i) =>
    `host${i} = ${shDerivation(`bench-host${i}-${salt}`, `sleep ${SLEEP_S} && mkdir -p $out && head -c ${MIB * 1024 * 1024} /dev/urandom > $out/data`)};`,
  );
  const flake = await writeFlake({ 'flake.nix': `{ outputs = { self }: { packages.x86_64-linux = { ${packages.join(' ')} }; }; }` });
  const nginx = await startNginxCache();
  const keys = nixKeyPair('bench-early-1');
  try {
    const started = performance.now();
    const result = await runAction('action-build', {
      inputs: {
        installables: Array.from({ length: HOSTS }, (_, i) => `${flake.ref}#packages.x86_64-linux.host${i}`).join('\n'),
        cache: nginx.url,
        'signing-key': keys.secret,
      },
      env: { NIX_CONFIG: 'experimental-features = nix-command flakes\nsubstituters =\nsandbox = false\nmax-jobs = 1' },
      ...(mode === 'pull_request' ? { event: { pull_request: { number: 1, head: { repo: { fork: false, full_name: 'acme/fleet' } } }, repository: { full_name: 'acme/fleet' } } } : {}),
      timeoutMs: 600_000,
    });
    const wallMs = performance.now() - started;
    if (result.exitCode !== 0) throw new Error(`action-build failed (${mode}):\n${result.stdout}\n${result.stderr}`);
    const manifest = JSON.parse(await readFile(result.outputs.manifest as string, 'utf8')) as { targets: { inCacheAfterMs?: number }[]; totals: { buildMs: number } };
    const times = manifest.targets.map((t) => t.inCacheAfterMs ?? Number.NaN);
    return { mode: mode === 'push' ? 'push event (push while building)' : 'pull request (build, then push)', wallMs, firstInCacheMs: Math.min(...times), lastInCacheMs: Math.max(...times), buildMs: manifest.totals.buildMs };
  } finally {
    await nginx.stop();
    await flake.cleanup();
  }
}

export async function benchEarlyPush(): Promise<EarlyPushBench[]> {
  return [await measure('push'), await measure('pull_request')];
}

export function formatEarlyPushBench(results: readonly EarlyPushBench[]): string {
  const lines = [
    `Push while building: ${HOSTS} hosts built one after another, ${SLEEP_S} s and ${MIB} MiB each (action-build bundle, nginx, zstd, signed)`,
    '| mode | first host in the cache | last host in the cache | build | whole step |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.mode} | ${formatDuration(r.firstInCacheMs)} | ${formatDuration(r.lastInCacheMs)} | ${formatDuration(r.buildMs)} | ${formatDuration(r.wallMs)} |`),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(formatEarlyPushBench(await benchEarlyPush()));
