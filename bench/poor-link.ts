/**
 * A pull host on a poor link (`npm run bench` calls it as root; `tsx bench/poor-link.ts` runs it
 * alone): a new system whose closure adds BENCH_POOR_LINK_MIB (200) MiB of incompressible data,
 * fetched by the real agent on two simulated hosts at once, each through its own link of
 * BENCH_POOR_LINK_KBITS (1000) kbit/s to the cache: one undisturbed, one whose every connection is
 * cut every BENCH_POOR_LINK_CUT_S (30) seconds. A run that fails is followed at once by the next
 * (on a host the timer would start it later; the waiting is not the link's). Printed per host: wall
 * time to converge, runs, bytes on the wire against the closure's NAR bytes, and the link's floor
 * (NAR bytes / rate). Timings are printed, never asserted.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../src/util/bytes.js';
import { formatDuration } from '../src/util/duration.js';
import { narsToFetch, runAgent, startAgentBed, type AgentBed } from '../test/integration/deploy-pull-fixture.js';
import { copyExampleFleet, toplevelInstallable } from '../test/support/example-fleet.js';
import { offlineNix } from '../test/support/nix.js';
import { startFaultProxy, type FaultProxy } from '../test/support/servers/index.js';

const MIB = Number(process.env.BENCH_POOR_LINK_MIB ?? 200);
const KBITS = Number(process.env.BENCH_POOR_LINK_KBITS ?? 1000);
const CUT_S = Number(process.env.BENCH_POOR_LINK_CUT_S ?? 30);
/** A run that does not end within this is a hung agent, not a slow link. */
const RUN_TIMEOUT_MS = 6 * 3600_000;

export interface PoorLinkRun {
  ms: number;
  runs: number;
  wireBytes: number;
}

export interface PoorLinkBench {
  narBytes: number;
  bytesPerSecond: number;
  cutEverySeconds: number;
  cuts: number;
  undisturbed: PoorLinkRun;
  cut: PoorLinkRun;
}

/** clinic-kin from a copy of the example fleet, with `mib` MiB of random data in its closure. */
async function bigSystem(mib: number): Promise<string> {
  const dir = await copyExampleFleet(`poor-link-${process.pid}-${Date.now()}`);
  const flake = join(dir, 'flake.nix');
  const blob = `(builtins.derivation { name = "poor-link-blob"; inherit system; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; args = [ "-c" "mkdir -p $out/bin $out/share/poor-link && head -c ${mib * 1024 * 1024} /dev/urandom > $out/share/poor-link/data && printf '#!/bin/sh\\\\n' > $out/bin/poor-link && chmod +x $out/bin/poor-link" ]; })`;
  const text = await readFile(flake, 'utf8');
  const host = 'clinic-kin = { packages = [ wireguard-tools rsync ]; };';
  if (!text.includes(host)) throw new Error(`examples/offline-fleet/flake.nix no longer says ${host}`);
  await writeFile(flake, text.replace(host, `clinic-kin = { packages = [ wireguard-tools rsync ${blob} ]; };`));
  const [built] = await offlineNix().build([toplevelInstallable(`path:${dir}`, 'clinic-kin')]);
  if (!built?.ok) throw new Error(`the poor-link system did not build: ${built && !built.ok ? built.error : 'no outcome'}`);
  return built.outputs.out as string;
}

/** Runs the agent on host `index` through `link` until it runs v2. */
async function converge(bed: AgentBed, index: number, link: FaultProxy): Promise<PoorLinkRun> {
  const host = bed.host(index);
  await bed.publish(host.name);
  const config = bed.config(host, { substituters: link.url });
  const started = performance.now();
  let runs = 0;
  while ((await host.currentSystem()) !== bed.v2) {
    if (runs === 1000) throw new Error(`${host.name} did not converge in 1000 runs`);
    runs++;
    await runAgent(host, config, 'run', {}, { timeoutMs: RUN_TIMEOUT_MS });
  }
  return { ms: performance.now() - started, runs, wireBytes: link.stats.responseBodyBytes };
}

export async function benchPoorLink(): Promise<PoorLinkBench> {
  const bytesPerSecond = (KBITS * 1000) / 8;
  const bed = await startAgentBed({ hosts: 2, prefix: 'poorlink', v2: await bigSystem(MIB) });
  const links: FaultProxy[] = [];
  let cutter: NodeJS.Timeout | undefined;
  try {
    const [steady, flaky] = await Promise.all([startFaultProxy(bed.cache.url, { linkBytesPerSecond: bytesPerSecond }), startFaultProxy(bed.cache.url, { linkBytesPerSecond: bytesPerSecond })]);
    links.push(steady, flaky);
    let cuts = 0;
    cutter = setInterval(() => {
      flaky.cutConnections();
      cuts++;
    }, CUT_S * 1000);
    const [undisturbed, cut] = await Promise.all([converge(bed, 0, steady), converge(bed, 1, flaky)]);
    return { narBytes: (await narsToFetch(bed)).reduce((sum, nar) => sum + nar.fileSize, 0), bytesPerSecond, cutEverySeconds: CUT_S, cuts, undisturbed, cut };
  } finally {
    clearInterval(cutter);
    await Promise.all(links.map((link) => link.stop()));
    await bed.stop();
  }
}

export function formatPoorLinkBench(bench: PoorLinkBench): string {
  const floorMs = (bench.narBytes / bench.bytesPerSecond) * 1000;
  const row = (label: string, run: PoorLinkRun) =>
    `| ${label} | ${formatDuration(run.ms)} | ${run.runs} | ${formatBytes(run.wireBytes)} (${(run.wireBytes / bench.narBytes).toFixed(2)}x) | ${(run.ms / floorMs).toFixed(2)}x |`;
  return [
    `A pull host fetching ${formatBytes(bench.narBytes)} of NARs over ${((bench.bytesPerSecond * 8) / 1000).toFixed(0)} kbit/s (the link's floor: ${formatDuration(floorMs)}):`,
    '',
    '| link | converged after | agent runs | on the wire (of the NARs) | of the floor |',
    '|---|---|---|---|---|',
    row('undisturbed', bench.undisturbed),
    row(`cut every ${bench.cutEverySeconds} s (${bench.cuts} cuts)`, bench.cut),
    '',
    `Cut against undisturbed: ${(bench.cut.ms / bench.undisturbed.ms).toFixed(2)}x the time.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(formatPoorLinkBench(await benchPoorLink()));
