import { markdownCode, markdownText } from '../util/markdown.js';
import { SIZE_HEADERS, sizeRows } from './advance.js';
import { EVIDENCE_HEADERS, evidenceRows, formatTime, gateSection, holdLines, markdownTable, mermaidWaves } from './render.js';
import type { WaveReport } from './report.js';

const DECISION_MARK: Record<WaveReport['decision'], string> = {
  promoted: '🚀',
  advanced: '⏩',
  reverted: '↩️',
  waiting: '⏳',
  blocked: '⛔',
  'nothing-to-do': '✅',
};

/** The job summary (Markdown): decision, wave chart, each gate's evidence, holds and problems. */
export function summaryMarkdown(report: WaveReport): string {
  const parts: string[] = [`## fleet upgrade wave: ${report.mode}`, '', `${DECISION_MARK[report.decision]} **${report.decision}**: ${markdownText(report.reason)}`];
  if (report.pullRequest) {
    const autoMerge = report.pullRequest.autoMerge ? `, auto-merge ${report.pullRequest.autoMerge}` : '';
    parts.push('', `Pull request [#${report.pullRequest.number}](${report.pullRequest.url}) ${report.pullRequest.operation}${autoMerge}.`);
  }
  if (report.holds.length > 0) parts.push('', '### Holds', '', ...holdLines(report.holds));
  if (report.waves.length > 0) {
    parts.push('', '### Waves', '', '```mermaid', mermaidWaves(report.waves), '```');
    for (const gate of report.waves) parts.push('', `#### ${gate.name}`, '', gateSection(gate));
  }
  if (report.outsideWaves && report.outsideWaves.length > 0) {
    parts.push('', '### Hosts in no wave', '', 'Shown for their status; they gate nothing.', '', markdownTable(EVIDENCE_HEADERS, evidenceRows({ hosts: report.outsideWaves, soakMs: 0 })));
  }
  if (report.promotion) {
    const p = report.promotion;
    parts.push('', `### Promotion ${markdownText(p.source)} → ${markdownText(p.target)}`, '', `${p.aheadBy} commit${p.aheadBy === 1 ? '' : 's'} ahead${p.candidate ? `, candidate ${markdownCode(p.candidate)}` : ''}.`);
    if (p.gate) parts.push('', gateSection(p.gate));
  }
  if (report.advance && report.advance.sizes.length > 0) {
    parts.push('', `### Moving wave ${report.advance.to} to ${report.advance.channel}`, '', markdownTable(SIZE_HEADERS, sizeRows(report.advance.sizes)));
  }
  if (report.revert) parts.push('', `Reverting promotion #${report.revert.pullRequest} (merge commit \`${report.revert.mergeCommit}\`).`);
  if (report.problems.length > 0) parts.push('', '### Unusable status', '', ...report.problems.map((p) => `- ${markdownText(p.key)}: ${markdownText(p.message)}`));
  if (report.warnings.length > 0) parts.push('', '### Warnings', '', ...report.warnings.map((w) => `- ${markdownText(w)}`));
  parts.push('', `_As of ${formatTime(report.generatedAt)}._`);
  return parts.join('\n');
}
