import { setWaveChannel } from '../fleet/edit.js';
import { orderedWaves } from '../fleet/inventory.js';
import type { Wave } from '../fleet/types.js';
import { createBranch, createCommitFromFiles, deleteBranch, fastForwardBranch, getBranchSha, getCommit } from '../github/git-data.js';
import { listOpenPullRequests } from '../github/pulls.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { UserError, errorMessage } from '../util/errors.js';
import { markdownCode, markdownText } from '../util/markdown.js';
import { hostsOfWave, waveGate, type GateData, type WaveGitHub, type WaveOptions } from './context.js';
import { blockedReason, describeRate } from './gate.js';
import { readFileAt } from './github.js';
import { blockingHolds } from './holds.js';
import { waitingReason } from './promote.js';
import { upsertPullRequest } from './pull-request.js';
import { formatTime, gateSection, markdownTable } from './render.js';
import type { WaveReport } from './report.js';
import { sizeChange, type SizeChange } from './sizes.js';
import type { GroupGate, HoldInfo } from './types.js';

export const ADVANCE_MARKER = '<!-- fleet-upgrade-wave:advance -->';

/** The next step of a release upgrade: the first wave whose channel differs from the wave before it. */
export function nextAdvance(waves: readonly Wave[]): { from: Wave; to: Wave } | undefined {
  for (let i = 1; i < waves.length; i++) {
    const from = waves[i - 1] as Wave;
    const to = waves[i] as Wave;
    if (from.channel !== undefined && to.channel !== from.channel) return { from, to };
  }
  return undefined;
}

export function advanceBranch(wave: string): string {
  return `fleet-advance/${wave}`;
}

/**
 * `advance`: when wave N passes, open (or update) a pull request that moves wave N+1 to wave N's
 * channel by editing that one line of the inventory.
 */
export async function advance(options: WaveOptions, github: WaveGitHub, holds: HoldInfo[], report: WaveReport, data: GateData): Promise<WaveReport> {
  const inventory = options.inventory.inventory;
  const waves = orderedWaves(inventory);
  report.waves = waves.map((wave) => waveGate(wave, inventory, data, options));
  const step = nextAdvance(waves);
  if (!step) {
    const channels = [...new Set(waves.map((w) => w.channel ?? '(none)'))];
    return { ...report, decision: 'nothing-to-do', reason: waves[0]?.channel === undefined ? 'the first wave has no channel to advance' : `every wave is on channel ${channels.join(', ')}` };
  }
  const { from, to } = step;
  const channel = from.channel as string;
  report.advance = { from: from.name, to: to.name, channel, ...(to.channel !== undefined ? { previousChannel: to.channel } : {}), sizes: [] };
  const gate = report.waves.find((g) => g.name === from.name) as GroupGate;

  const blocking = blockingHolds(holds, { kind: 'advance', wave: to.name });
  if (blocking.length > 0) return { ...report, decision: 'blocked', reason: `held: ${blocking.map((h) => h.reason).join('; ')}` };
  if (gate.state === 'failed') return { ...report, decision: 'blocked', reason: `wave ${from.name} ${blockedReason(gate, 'reports')}` };
  if (!gate.passed) return { ...report, decision: 'waiting', reason: `wave ${from.name} has not passed: ${waitingReason(gate)}` };

  const path = options.inventoryRepoPath;
  if (!path) throw new UserError('advance edits the inventory file: give `inventory` as a YAML or JSON file inside the repository');
  report.advance.inventoryPath = path;
  const { client, repo } = github;
  const baseSha = await getBranchSha(client, repo, options.targetBranch);
  if (!baseSha) throw new UserError(`the branch ${options.targetBranch} does not exist in ${repo.owner}/${repo.repo}`);
  const baseCommit = await getCommit(client, repo, baseSha);
  const current = await readFileAt(client, repo, baseCommit.tree, path);
  if (!current) throw new UserError(`${path} does not exist on ${options.targetBranch}`);
  const edit = setWaveChannel(current.text, to.name, channel, { json: path.endsWith('.json'), source: `${path} on ${options.targetBranch}` });
  if (!edit.changed) return { ...report, decision: 'nothing-to-do', reason: `wave ${to.name} is already on ${channel} on ${options.targetBranch}` };

  report.advance.sizes = await sizesFor(options, to, edit.text, data, report.warnings);

  const branch = advanceBranch(to.name);
  const message = `fleet: move wave ${to.name} to ${channel}\n\nWave ${from.name} runs ${channel} and passed its gate (${gate.passing} of ${gate.seen} seen hosts, soak ${formatDuration(gate.soakMs)}).`;
  await publishEdit(github, { branch, base: options.targetBranch, baseSha, baseTree: baseCommit.tree, path, text: edit.text, message });

  const body = advanceBody({ from: from.name, to: to.name, channel, previousChannel: to.channel, path, gate, sizes: report.advance.sizes, now: options.now, runUrl: github.runUrl });
  const { outcome } = await upsertPullRequest(github, { head: branch, base: options.targetBranch, title: `Move wave ${to.name} to ${channel}`, body, autoMerge: options.autoMerge }, report.warnings);
  return { ...report, decision: 'advanced', reason: `wave ${from.name} passed; pull request #${outcome.number} (${outcome.operation}) moves wave ${to.name} to ${channel}`, pullRequest: outcome };
}

async function sizesFor(options: WaveOptions, to: Wave, editedText: string, data: GateData, warnings: string[]): Promise<SizeChange[]> {
  const hosts = hostsOfWave(options.inventory.inventory, to.name);
  let next = new Map<string, string>();
  if (options.nextExpected) {
    try {
      next = await options.nextExpected(hosts, editedText);
    } catch (error) {
      warnings.push(`cannot tell the new systems of wave ${to.name}: ${errorMessage(error)}`);
    }
  }
  const closures = options.closures ?? (async () => undefined);
  return Promise.all(
    hosts.map(async (host) => {
      const report = data.reports.get(host.name);
      const size = await sizeChange(host.name, report?.system, next.get(host.name), closures);
      return report?.fetchBytesPerSecond ? { ...size, fetchBytesPerSecond: report.fetchBytesPerSecond } : size;
    }),
  );
}

interface EditCommit {
  branch: string;
  base: string;
  baseSha: string;
  baseTree: string;
  path: string;
  text: string;
  message: string;
}

/**
 * Puts the edit on the advance branch. An open pull request's branch gets a new commit on top
 * (never a force push) unless it already holds the edit; a leftover branch without an open pull
 * request is started again from the base.
 */
async function publishEdit(github: WaveGitHub, edit: EditCommit): Promise<void> {
  const { client, repo } = github;
  const tip = await getBranchSha(client, repo, edit.branch);
  const open = tip ? (await listOpenPullRequests(client, repo, edit.branch, edit.base)).length > 0 : false;
  if (tip && open) {
    const tipCommit = await getCommit(client, repo, tip);
    const have = await readFileAt(client, repo, tipCommit.tree, edit.path);
    if (have?.text === edit.text) return;
    const sha = await createCommitFromFiles(client, repo, { message: edit.message, baseTree: tipCommit.tree, parents: [tip], files: { [edit.path]: edit.text } });
    await fastForwardBranch(client, repo, edit.branch, sha);
    return;
  }
  if (tip) await deleteBranch(client, repo, edit.branch);
  const sha = await createCommitFromFiles(client, repo, { message: edit.message, baseTree: edit.baseTree, parents: [edit.baseSha], files: { [edit.path]: edit.text } });
  await createBranch(client, repo, edit.branch, sha);
}

export interface AdvanceBodyInput {
  from: string;
  to: string;
  channel: string;
  previousChannel?: string | undefined;
  path: string;
  gate: GroupGate;
  sizes: SizeChange[];
  now: Date;
  runUrl?: string | undefined;
}

export const SIZE_HEADERS = ['Host', 'Running', 'New system', 'Closure change', 'Download', 'At its link'];

export function sizeRows(sizes: readonly SizeChange[]): string[][] {
  return sizes.map((s) => [
    markdownText(s.host),
    s.from ? markdownCode(s.from) : 'unknown',
    s.to ? markdownCode(s.to) : 'unknown',
    s.change !== undefined ? `${s.change >= 0 ? '+' : '−'}${formatBytes(Math.abs(s.change))}${s.closureAfter !== undefined ? ` (to ${formatBytes(s.closureAfter)})` : ''}` : 'unknown',
    s.download !== undefined ? `${formatBytes(s.download)}${s.downloadCompressed ? '' : ' (uncompressed)'}` : 'unknown',
    linkTime(s),
  ]);
}

/** How long the download takes at the rate the host's link last delivered (its report's fetchBytesPerSecond). */
function linkTime(s: SizeChange): string {
  if (s.download === undefined) return 'unknown';
  if (s.download === 0) return 'nothing to fetch';
  if (!s.fetchBytesPerSecond) return 'no rate reported';
  return `${s.downloadCompressed ? 'about' : 'at most'} ${describeRate(s.download, s.fetchBytesPerSecond)}`;
}

export function advanceBody(input: AdvanceBodyInput): string {
  const lines = [
    ADVANCE_MARKER,
    `Wave \`${input.from}\` runs \`${input.channel}\` and passed its gate. This moves wave \`${input.to}\` ${input.previousChannel ? `from \`${input.previousChannel}\` ` : ''}to \`${input.channel}\`: one line of \`${input.path}\`.`,
    '',
    `### What the hosts of ${input.to} will fetch`,
    '',
    'Links can be slow: the download is what each host lacks of its new closure.',
    '',
    input.sizes.length > 0 ? markdownTable(SIZE_HEADERS, sizeRows(input.sizes)) : '_No hosts in this wave._',
    '',
    `### Evidence: wave ${input.from}`,
    '',
    gateSection(input.gate),
    '',
    `_Updated by fleet upgrade-wave at ${formatTime(input.now)}${input.runUrl ? ` ([run](${input.runUrl}))` : ''}._`,
  ];
  return lines.join('\n');
}

