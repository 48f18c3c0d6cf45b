/**
 * Deploy benchmark: one rollout to simulated hosts (test/support/hosts: an sshd and a Nix store
 * each), by default 50 hosts with max-concurrency 10, every host switching from the example
 * fleet's generation 1 to generation 2 (nix copy, helper, activation, confirmation).
 *
 * It reports the rollout's wall time against the sum of the per-host times (what a serial
 * deploy would cost), and the runner's overhead per host in two senses:
 *   - CPU: what the deployer spent per host (node plus the ssh and nix processes it ran);
 *   - idle lanes: (wall × max-concurrency − sum of host times) / hosts, the time the batches'
 *     barriers (a batch waits for its slowest host) and the runner's own work keep a lane empty.
 * Nothing is asserted: timings belong here, not in tests.
 */
import { readFile } from 'node:fs/promises';
import { deploy } from '../src/deploy/deploy.js';
import { formatDuration } from '../src/util/duration.js';
import { memoryLog } from '../src/util/log.js';
import { startHosts } from '../test/support/hosts/index.js';
import { twoGenerations } from '../test/support/hosts/deploy.js';

export interface DeployBenchOptions {
  hosts?: number;
  maxConcurrency?: number;
  canary?: number;
}

export interface DeployBenchResult {
  hosts: number;
  maxConcurrency: number;
  canary: number;
  batches: number;
  succeeded: number;
  /** Starting and seeding the simulated hosts (not part of the rollout). */
  setupMs: number;
  /** The rollout, first connection to last confirmation. */
  wallMs: number;
  /** Sum of the hosts' own deploy times: a serial rollout's cost. */
  sumHostMs: number;
  meanHostMs: number;
  maxHostMs: number;
  /** sumHostMs / wallMs. */
  speedup: number;
  /** Deployer CPU (node + its ssh and nix children) per host. */
  runnerCpuMsPerHost: number;
  /** (wallMs × maxConcurrency − sumHostMs) / hosts: lane time no host used. */
  idleLaneMsPerHost: number;
}

/** CPU time of this process and of its children that have exited (ssh, nix copy), in ms. */
async function cpuMs(): Promise<number> {
  const own = process.cpuUsage();
  // /proc/self/stat fields 16 and 17: cutime and cstime of waited-for children, in clock ticks (100/s on Linux).
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const children = (Number(fields[13]) + Number(fields[14])) * 10;
  return (own.user + own.system) / 1000 + children;
}

export async function benchDeploy(options: DeployBenchOptions = {}): Promise<DeployBenchResult> {
  const n = options.hosts ?? 50;
  const maxConcurrency = options.maxConcurrency ?? 10;
  const canary = options.canary ?? 1;
  const { v1, v2 } = await twoGenerations();

  const setupStarted = performance.now();
  const fleet = await startHosts(n, { system: v1 });
  const setupMs = performance.now() - setupStarted;
  try {
    const cpuBefore = await cpuMs();
    const started = performance.now();
    const report = await deploy({
      hosts: fleet.inventoryHosts(),
      systems: Object.fromEntries(fleet.hosts.map((h) => [h.name, v2])),
      rollout: { canary, maxConcurrency: { count: maxConcurrency } },
      ssh: { privateKey: fleet.privateKey, knownHosts: fleet.knownHosts },
      log: memoryLog(),
    });
    const wallMs = performance.now() - started;
    const cpu = (await cpuMs()) - cpuBefore;
    const times = report.results.map((r) => r.durationMs);
    const sumHostMs = times.reduce((a, b) => a + b, 0);
    return {
      hosts: n,
      maxConcurrency,
      canary,
      batches: report.plan.batches.length,
      succeeded: report.counts.succeeded,
      setupMs,
      wallMs,
      sumHostMs,
      meanHostMs: sumHostMs / n,
      maxHostMs: Math.max(...times),
      speedup: sumHostMs / wallMs,
      runnerCpuMsPerHost: cpu / n,
      idleLaneMsPerHost: (wallMs * maxConcurrency - sumHostMs) / n,
    };
  } finally {
    await fleet.stop();
  }
}

export function formatDeployBench(r: DeployBenchResult): string {
  return [
    `deploy: ${r.hosts} simulated hosts, canary ${r.canary}, max-concurrency ${r.maxConcurrency} (${r.batches} batches), ${r.succeeded} succeeded`,
    `  wall ${formatDuration(r.wallMs)} vs sum of host times ${formatDuration(r.sumHostMs)} (${r.speedup.toFixed(1)}x); host mean ${formatDuration(r.meanHostMs)}, max ${formatDuration(r.maxHostMs)}`,
    `  runner overhead per host: ${formatDuration(r.runnerCpuMsPerHost)} CPU, ${formatDuration(r.idleLaneMsPerHost)} idle lane time`,
    `  (setup of the simulated hosts: ${formatDuration(r.setupMs)})`,
  ].join('\n');
}

if (import.meta.main) {
  console.log(formatDeployBench(await benchDeploy()));
}
