import { orderedWaves } from '../fleet/inventory.js';
import { UserError } from '../util/errors.js';
import { advance } from './advance.js';
import type { GateData, WaveGitHub, WaveOptions } from './context.js';
import { gateData, outsideWavesGate, waveGate } from './context.js';
import { labelHolds } from './github.js';
import { blockingHolds, inventoryHolds } from './holds.js';
import { promote } from './promote.js';
import type { WaveReport } from './report.js';
import { abortPromotion } from './revert.js';

/**
 * One run of the upgrade-wave action: reads holds, reports and expected systems, evaluates the
 * gates and takes the mode's step. Never merges anything itself: it opens, updates or holds
 * pull requests.
 */
export async function runWave(options: WaveOptions): Promise<WaveReport> {
  const report: WaveReport = {
    mode: options.abort ? 'abort' : options.mode,
    decision: 'nothing-to-do',
    reason: '',
    generatedAt: options.now,
    holds: [],
    waves: [],
    problems: [],
    warnings: [],
  };
  const holds = inventoryHolds(options.inventory.inventory);
  if (options.github) holds.push(...(await labelHolds(options.github.client, options.github.repo, options.holdLabel)));
  report.holds = holds;

  if (options.abort) return abortPromotion(options, needGitHub(options, 'abort'), report);
  switch (options.mode) {
    case 'status':
      return status(options, report);
    case 'promote':
      return promote(options, needGitHub(options, 'promote'), holds, report);
    case 'advance':
      return advance(options, needGitHub(options, 'advance'), holds, report, await readGateData(options, report));
  }
}

function needGitHub(options: WaveOptions, what: string): WaveGitHub {
  if (!options.github) throw new UserError(`${what} needs GitHub access (the token input)`);
  return options.github;
}

/**
 * Reports and expected systems of every host in a wave (`everyHost`: of every host of the
 * inventory); unusable reports go to the report's problems.
 */
async function readGateData(options: WaveOptions, report: WaveReport, everyHost = false): Promise<GateData> {
  const hosts = Object.values(options.inventory.inventory.hosts).filter((h) => everyHost || h.wave);
  const [read, expected] = await Promise.all([options.reports(hosts), options.expected(hosts)]);
  options.log.debug(`${read.reports.size} status reports, ${expected.size} expected systems`);
  for (const problem of read.problems) options.log.warning(`status of ${problem.key}: ${problem.message}`);
  report.problems.push(...read.problems);
  return gateData(read, expected);
}

/** `status`: every wave's gate; the decision says whether anything waits, fails or is held. */
async function status(options: WaveOptions, report: WaveReport): Promise<WaveReport> {
  const inventory = options.inventory.inventory;
  const data = await readGateData(options, report, true);
  report.waves = orderedWaves(inventory).map((wave) => waveGate(wave, inventory, data, options));
  const outside = outsideWavesGate(inventory, data, options);
  if (outside) report.outsideWaves = outside.hosts;
  const failed = report.waves.filter((g) => g.state === 'failed');
  const held = blockingHolds(report.holds, { kind: 'status' });
  const pending = report.waves.filter((g) => !g.passed);
  if (failed.length > 0) {
    return { ...report, decision: 'blocked', reason: `failures reported in ${failed.map((g) => `${g.name} (${g.failures.join(', ')})`).join(', ')}` };
  }
  if (held.length > 0) return { ...report, decision: 'blocked', reason: `held: ${held.map((h) => h.reason).join('; ')}` };
  if (pending.length > 0) return { ...report, decision: 'waiting', reason: `waiting for ${pending.map((g) => g.name).join(', ')}` };
  return { ...report, decision: 'nothing-to-do', reason: report.waves.length > 0 ? 'every wave passes its gate' : 'the inventory has no waves' };
}
