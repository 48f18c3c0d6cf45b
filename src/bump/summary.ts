import type { ChangeRecord, FlakeBumpOutcome } from './bump.js';
import { describeCheck } from './pr-body.js';

/** Plain rows for the job summary (the action renders them with the runner's JobSummary). */
export interface SummaryTables {
  outcome: { headers: string[]; rows: string[][] };
  changes: { headers: string[]; rows: string[][] };
  checks: { headers: string[]; rows: string[][] };
  headline: string;
}

const revision = (c: ChangeRecord, side: 'old' | 'new'): string => {
  const follows = side === 'old' ? c.oldFollows : c.newFollows;
  if (follows !== undefined) return `follows ${follows}`;
  const r = c[side];
  return r ? `${r.shortRev ?? r.locked}${r.date ? ` (${r.date})` : ''}` : '—';
};

export function summaryTables(outcome: FlakeBumpOutcome): SummaryTables {
  const prs = outcome.groups.filter((g) => g.pullRequest);
  const headline =
    outcome.changes.length === 0 && prs.length === 0
      ? `Nothing to bump: every input is already at its latest revision on \`${outcome.base}\`.`
      : `${outcome.changes.length} input change${outcome.changes.length === 1 ? '' : 's'}; ${outcome.groups.map((g) => `${g.group}: ${g.operation}${g.pullRequest ? ` #${g.pullRequest.number}` : ''}`).join(', ')}.`;
  return {
    headline,
    outcome: {
      headers: ['Group', 'Branch', 'Operation', 'Pull request'],
      rows: outcome.groups.map((g) => [g.group, g.branch, g.operation, g.pullRequest ? `#${g.pullRequest.number} ${g.pullRequest.url}` : '—']),
    },
    changes: {
      headers: ['Group', 'Lock file', 'Input', 'Change', 'From', 'To', 'Compare'],
      rows: outcome.changes.map((c) => [c.group, c.lockPath, c.name, c.kind, revision(c, 'old'), revision(c, 'new'), c.compareUrl ?? '—']),
    },
    checks: {
      headers: ['Group', 'Check', 'Result'],
      rows: outcome.groups.flatMap((g) => g.report.flakes.flatMap((f) => f.checks.map((c) => [g.group, describeCheck(c), c.ok ? 'passed' : 'failed']))),
    },
  };
}
