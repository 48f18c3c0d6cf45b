import { formatDuration } from '../util/duration.js';
import { markdownCode, markdownTable, markdownText } from '../util/markdown.js';
import type { RolloutReport } from './execute.js';
import type { RolloutPlan } from './plan.js';
import type { HostResult } from './types.js';

export interface PlanDetails {
  /** switch, boot, test, dry-activate, reboot. */
  action?: string;
  /** Host → the store path it gets. */
  targets?: Record<string, string>;
}

/** `/nix/store/<32 chars>-name` → `<first 8>…-name`, short enough for a table cell. */
export function shortStorePath(path: string | undefined): string {
  if (!path) return '';
  const match = /^\/nix\/store\/([0-9a-z]{32})-(.+)$/.exec(path);
  return match ? `${(match[1] as string).slice(0, 8)}…-${match[2]}` : path;
}

function planHeadline<H>(plan: RolloutPlan<H>, details: PlanDetails): string {
  const parts = [`${plan.hostCount} host${plan.hostCount === 1 ? '' : 's'}`];
  if (details.action) parts.push(`action ${details.action}`);
  parts.push(plan.canary > 0 ? `canary ${plan.canary}` : 'no canary');
  parts.push(`batches of ${plan.batchSize} (max-concurrency ${plan.given.maxConcurrency})`);
  parts.push(`max-errors ${plan.given.maxErrors} (${plan.maxErrors} tolerated)`);
  return `Rollout: ${parts.join(', ')}`;
}

/** A host in a printed plan: its Nix system (`x86_64-linux`) when the caller knows it. */
export interface PlannedHost {
  name: string;
  system?: string;
}

/**
 * The plan for a log: a headline, then one line per batch, or per host when targets are known:
 * name, Nix system and store path in aligned columns.
 */
export function formatPlanText<H extends PlannedHost>(plan: RolloutPlan<H>, details: PlanDetails = {}): string {
  const lines = [planHeadline(plan, details)];
  const hosts = plan.batches.flatMap((batch) => batch.hosts);
  const nameWidth = Math.max(...hosts.map((h) => h.name.length));
  const systemWidth = Math.max(...hosts.map((h) => (h.system ?? '').length));
  for (const batch of plan.batches) {
    const title = `batch ${batch.number}${batch.canary ? ' (canary)' : ''}`;
    if (details.targets) {
      lines.push(`  ${title}:`);
      for (const host of batch.hosts) {
        const system = systemWidth > 0 ? `${(host.system ?? '').padEnd(systemWidth)}  ` : '';
        lines.push(`    ${host.name.padEnd(nameWidth)}  ${system}${details.targets[host.name] ?? '(no system)'}`);
      }
    } else {
      lines.push(`  ${title}: ${batch.hosts.map((h) => h.name).join(', ')}`);
    }
  }
  return lines.join('\n');
}

/** The plan as Markdown: the headline and a table with a row per host, its Nix system and store path (as action-build's summary has them). */
export function formatPlanMarkdown<H extends PlannedHost>(plan: RolloutPlan<H>, details: PlanDetails = {}): string {
  const rows = plan.batches.flatMap((batch) =>
    batch.hosts.map((host) => [
      `${batch.number}${batch.canary ? ' (canary)' : ''}`,
      markdownText(host.name),
      markdownText(host.system ?? ''),
      markdownCode(details.targets?.[host.name] ?? ''),
    ]),
  );
  return `${markdownText(planHeadline(plan, details))}\n\n${markdownTable(['Batch', 'Host', 'System', 'Store path'], rows)}`;
}

/** Results as Markdown: a count line and a row per host. */
export function formatResultsMarkdown(report: RolloutReport): string {
  const counts = Object.entries(report.counts)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${n} ${outcome}`)
    .join(', ');
  const head = report.stopped ? `${counts}. Stopped after batch ${report.stopped.afterBatch}: ${report.stopped.reason}.` : `${counts}.`;
  // Messages and systems come from the hosts (their stderr, their reports): text, never Markdown.
  const rows = report.results.map((r) => [
    markdownText(r.host),
    markdownText(outcomeCell(r)),
    markdownCode(shortStorePath(r.before)),
    markdownCode(shortStorePath(r.after)),
    r.generation === undefined ? '' : String(r.generation),
    r.outcome === 'skipped' ? '' : formatDuration(r.durationMs),
    markdownText(r.message),
  ]);
  return `${markdownText(head)}\n\n${markdownTable(['Host', 'Outcome', 'Before', 'After', 'Generation', 'Duration', 'Message'], rows)}`;
}

/** Results for a log: one line per host. */
export function formatResultsText(report: RolloutReport): string {
  const width = Math.max(...report.results.map((r) => r.host.length));
  const lines = report.results.map(
    (r) => `${r.host.padEnd(width)}  ${outcomeCell(r).padEnd(12)} ${r.outcome === 'skipped' ? '' : `${formatDuration(r.durationMs)}  `}${r.message.replace(/\s*\n\s*/g, ' ')}`,
  );
  if (report.stopped) lines.push(`stopped after batch ${report.stopped.afterBatch}: ${report.stopped.reason}`);
  return lines.join('\n');
}

function outcomeCell(result: HostResult): string {
  return result.needsReboot ? `${result.outcome} (needs reboot)` : result.outcome;
}
