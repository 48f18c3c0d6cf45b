/**
 * `npm run bench`: bench/run.ts with the machine's Nix, then again in the current-Nix lane
 * (.ci/current-nix-lane, Debian unstable's Nix), and one table with both versions' `nix copy` side
 * by side. BENCH_* variables reach both lanes; the deploy and garbage-collection benches run in
 * the first only (neither depends on Nix). Without root (no lane root can be entered) only the
 * first lane runs, and the table says so.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../src/util/bytes.js';
import { formatDuration } from '../src/util/duration.js';
import type { BenchRow } from './run.js';

interface LaneResult {
  nix: string;
  rows: BenchRow[];
}

const ROOT = join(import.meta.dirname, '..');

function runLane(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

const out = await mkdtemp(join(ROOT, 'bench', '.lanes-'));
try {
  const benchEnv = Object.entries(process.env).filter(([name]) => name.startsWith('BENCH_') && name !== 'BENCH_JSON');
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const first = join(out, 'machine.json');
  await runLane('env', [...benchEnv.map(([k, v]) => `${k}=${v}`), `BENCH_JSON=${first}`, tsx, 'bench/run.ts']);
  const lanes: LaneResult[] = [JSON.parse(await readFile(first, 'utf8')) as LaneResult];
  if (process.getuid?.() === 0) {
    const second = join(out, 'current.json');
    await runLane(join(ROOT, '.ci/current-nix-lane'), ['--', 'env', ...benchEnv.map(([k, v]) => `${k}=${v}`), 'BENCH_DEPLOY_HOSTS=0', 'BENCH_GC_NARINFOS=0', `BENCH_JSON=${second}`, tsx, 'bench/run.ts']);
    lanes.push(JSON.parse(await readFile(second, 'utf8')) as LaneResult);
  } else {
    console.error('not root: the current-Nix lane needs root to enter its Debian root; only the machine lane ran');
  }
  const label = (lane: LaneResult) => lane.nix.replace(/^nix \(Nix\) /, 'Nix ');
  const header = ['scenario', ...lanes.flatMap((l) => [`fleet (${label(l)})`, `nix copy ${label(l)}`, 'fleet is', 'fleet peak RSS'])];
  console.log(`\n## fleet push vs nix copy, ${lanes.map(label).join(' and ')}, same run\n`);
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const [i, row] of (lanes[0]?.rows ?? []).entries()) {
    const cells = [row.scenario];
    for (const lane of lanes) {
      const r = lane.rows[i];
      cells.push(r ? formatDuration(r.fleetMs) : '', r ? formatDuration(r.nixCopyMs) : '', r ? `${(r.nixCopyMs / r.fleetMs).toFixed(1)}x` : '', r?.fleetMaxRssBytes ? formatBytes(r.fleetMaxRssBytes) : '');
    }
    console.log(`| ${cells.join(' | ')} |`);
  }
} finally {
  await rm(out, { recursive: true, force: true });
}
