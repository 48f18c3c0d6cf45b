import { formatDuration } from '../util/duration.js';
import { markdownCode, markdownText } from '../util/markdown.js';
import { blockingHolds } from './holds.js';
import { promotionHosts, stagingGate, gateData, type WaveGitHub, type WaveOptions } from './context.js';
import { blockedReason } from './gate.js';
import { compareBranches } from './github.js';
import { markPullRequestWaiting, upsertPullRequest } from './pull-request.js';
import { formatTime, gateSection, holdLines } from './render.js';
import type { WaveReport } from './report.js';
import type { GroupGate, HoldInfo } from './types.js';

export const PROMOTION_MARKER = '<!-- fleet-upgrade-wave:promotion -->';

/**
 * `promote`: when the source branch is ahead of the target and the staging hosts' gate passes,
 * open or update the promotion pull request (head source → base target) with the evidence.
 */
export async function promote(options: WaveOptions, github: WaveGitHub, holds: HoldInfo[], report: WaveReport): Promise<WaveReport> {
  const { sourceBranch: source, targetBranch: target } = options;
  const comparison = await compareBranches(github.client, github.repo, target, source);
  report.promotion = { source, target, aheadBy: comparison.aheadBy, candidate: comparison.headSha };
  if (comparison.aheadBy === 0) {
    return { ...report, decision: 'nothing-to-do', reason: `${source} has no commits that ${target} lacks` };
  }

  const hosts = promotionHosts(options.inventory.inventory, source, options.promotionHosts);
  const [read, expected] = await Promise.all([options.reports(hosts), options.expected(hosts)]);
  report.problems.push(...read.problems);
  const gate = stagingGate(hosts, options.inventory.inventory, gateData(read, expected), options);
  report.promotion.gate = gate;
  const blocking = blockingHolds(holds, { kind: 'promote' });

  const title = `Promote ${source} to ${target}`;
  const body = (verdict: string) => promotionBody({ source, target, candidate: comparison.headSha, aheadBy: comparison.aheadBy, gate, holds: blocking, verdict, now: options.now, runUrl: github.runUrl });

  if (blocking.length > 0 || !gate.passed) {
    const decision = blocking.length > 0 || gate.state === 'failed' ? 'blocked' : 'waiting';
    const reason =
      blocking.length > 0
        ? `held: ${blocking.map((h) => h.reason).join('; ')}`
        : gate.state === 'failed'
          ? `staging hosts ${blockedReason(gate, 'report')}`
          : waitingReason(gate);
    const pull = await markPullRequestWaiting(github, { head: source, base: target, title, body: body(`${decision === 'blocked' ? 'Blocked' : 'Waiting'}: ${reason}.`) }, report.warnings);
    return { ...report, decision, reason, ...(pull ? { pullRequest: pull } : {}) };
  }

  const { outcome } = await upsertPullRequest(github, { head: source, base: target, title, body: body('The staging hosts run the candidate and the gate passes.'), autoMerge: options.autoMerge }, report.warnings);
  return {
    ...report,
    decision: 'promoted',
    reason: `staging gate passed (${gate.passing} of ${gate.seen} seen hosts); pull request #${outcome.number} ${outcome.operation}`,
    pullRequest: outcome,
  };
}

export function waitingReason(gate: GroupGate): string {
  const parts = [...gate.reasons];
  if (gate.readyAt) parts.push(`earliest pass at ${formatTime(gate.readyAt)}`);
  if (gate.stragglers.length > 0) parts.push(`stragglers: ${gate.stragglers.join(', ')}`);
  return parts.join('; ') || `${gate.name} gate does not pass yet`;
}

export interface PromotionBodyInput {
  source: string;
  target: string;
  candidate: string;
  aheadBy: number;
  gate: GroupGate;
  holds: HoldInfo[];
  verdict: string;
  now: Date;
  runUrl?: string | undefined;
}

export function promotionBody(input: PromotionBodyInput): string {
  const lines = [
    PROMOTION_MARKER,
    `Promotes ${markdownCode(input.source)} (${input.aheadBy} commit${input.aheadBy === 1 ? '' : 's'} ahead, candidate ${markdownCode(input.candidate)}) to ${markdownCode(input.target)}.`,
    '',
    // The verdict quotes the gate's reasons, and so what hosts reported.
    `**${markdownText(input.verdict)}**`,
    '',
    '### Evidence: the staging hosts',
    '',
    `Each host must run its expected system for ${formatDuration(input.gate.soakMs)} (counted from its own adoption time), with no failure reported.`,
    '',
    gateSection(input.gate),
  ];
  if (input.gate.stragglers.length > 0) {
    lines.push('', `Stragglers (not seen recently; not blocking, not counted): ${markdownText(input.gate.stragglers.join(', '))}`);
  }
  if (input.holds.length > 0) lines.push('', '### Holds', '', ...holdLines(input.holds));
  lines.push('', `_Updated by fleet upgrade-wave at ${formatTime(input.now)}${input.runUrl ? ` ([run](${input.runUrl}))` : ''}._`);
  return lines.join('\n');
}
