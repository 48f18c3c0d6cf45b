import { formatBytes } from '../util/bytes.js';
import { describeVersions, type PackageChange } from './closure-diff.js';
import type { InputChange, InputRevision } from './lock-diff.js';
import { cell, code, details, fence, fitBlocks, GITHUB_BODY_LIMIT, link, table, tail, type Block } from './markdown.js';
import { changeCount, failedChecks, type BumpReport, type CheckResult, type FlakeBump, type HostClosure } from './report.js';

/** The hidden line by which the action recognizes its own pull request for `branch`. */
export function bumpMarker(branch: string): string {
  return `<!-- fleet:flake-bump branch=${branch} -->`;
}

export interface BodyOptions {
  /** First line of the body (see `bumpMarker`). */
  marker: string;
  /** Defaults to GitHub's limit. */
  limit?: number;
}

const ERROR_TAIL = 3000;

/**
 * The pull request description: summary, input table, per-host closure table and details, check
 * results. Deterministic for the same report (no times, no run links), so an unchanged bump
 * leaves the description untouched. Kept under GitHub's limit by cutting the least important rows
 * first, with a note saying so.
 */
export function renderBumpBody(report: BumpReport, options: BodyOptions): string {
  const limit = options.limit ?? GITHUB_BODY_LIMIT;
  const blocks: Block[] = [{ head: options.marker, items: [], priority: 100 }];
  blocks.push({ head: summaryText(report), items: [], priority: 100 });
  const many = report.flakes.length > 1;
  for (const flake of report.flakes) {
    if (many) blocks.push({ head: `## ${flake.flake === '.' ? 'Flake at the repository root' : `Flake ${code(flake.flake)}`}`, items: [], priority: 100 });
    blocks.push(...flakeBlocks(flake));
  }
  blocks.push({ head: '---\n<sub>Opened by fleet action-flake-bump. Commits pushed to this branch are kept (the next run adds its own on top); this description is rewritten on every run.</sub>', items: [], priority: 100 });
  return fitBlocks(blocks, limit, (count, noun) => `_… ${count} more ${noun} cut to keep this description under GitHub's ${GITHUB_BODY_LIMIT.toLocaleString('en')}-character limit; the job summary and the \`changes\` output list everything._`).text;
}

function summaryText(report: BumpReport): string {
  const count = changeCount(report);
  const direct = report.flakes.flatMap((f) => f.changes.filter((c) => !c.transitive)).length;
  const locks = [...new Set(report.flakes.map((f) => f.lockPath))].map(code).join(', ');
  const lines = [
    `Updates ${count} input${count === 1 ? '' : 's'} in ${locks} (${direct} direct, ${count - direct} through other inputs)${report.group === 'all' ? '' : ` for ${code(report.group)}`}.`,
  ];
  const checks = report.flakes.flatMap((f) => f.checks);
  if (checks.length > 0) {
    const failed = failedChecks(report);
    lines.push(failed.length === 0 ? `✅ All ${checks.length} checks passed.` : `❌ ${failed.length} of ${checks.length} checks failed: ${failed.map(describeCheck).join(', ')}.`);
  }
  const unexpected = report.flakes.flatMap((f) => f.unexpected);
  if (unexpected.length > 0) {
    lines.push(`⚠️ Nix also changed inputs that were not asked for: ${unexpected.map((c) => code(c.name)).join(', ')}.`);
  }
  return lines.join('\n\n');
}

function flakeBlocks(flake: FlakeBump): Block[] {
  const blocks: Block[] = [];
  blocks.push({
    head: ['### Inputs', '', ...table(['Input', 'From', 'To', 'Changes'], [])].join('\n'),
    items: flake.changes.map(inputRow),
    priority: 50,
  });
  const hosts = flake.closures;
  if (hosts.length > 0) {
    blocks.push({
      head: ['### Hosts', '', ...table(['Host', 'Closure size', 'Change', 'Packages'], [])].join('\n'),
      items: hosts.map(hostRow),
      priority: 40,
      noun: 'hosts',
    });
    const withChanges = hosts.filter((h) => h.diff && h.diff.changes.length > 0);
    if (withChanges.length > 0) blocks.push({ items: withChanges.map(hostDetails), priority: 10, noun: 'host details' });
  }
  if (flake.checks.length > 0) {
    blocks.push({
      head: ['### Checks', '', ...table(['Check', 'Result'], [])].join('\n'),
      items: flake.checks.map((c) => `| ${cell(describeCheck(c))} | ${c.ok ? '✅ passed' : '❌ failed'} |`),
      // Check results are short and decide the review: they go last.
      priority: 60,
      noun: 'checks',
    });
    const failures = flake.checks.filter((c) => !c.ok && c.error);
    if (failures.length > 0) {
      blocks.push({ items: failures.map((c) => details(`${describeCheck(c)}: error`, fence(tail(c.error as string, ERROR_TAIL)))), priority: 55, noun: 'check errors' });
    }
  }
  return blocks;
}

export function describeCheck(check: CheckResult): string {
  return check.kind === 'flake-check' ? 'nix flake check' : `${check.kind} ${check.target}`;
}

function revisionCell(revision: InputRevision | undefined, follows: string | undefined): string {
  if (follows !== undefined) return `follows ${code(follows || '(the flake itself)')}`;
  if (!revision) return '—';
  const id = revision.shortRev ?? revision.narHash?.slice(0, 15) ?? revision.locked;
  return [code(id), revision.date].filter(Boolean).join(' ');
}

function inputRow(change: InputChange): string {
  const name = change.transitive ? `${code(change.name)} ↳` : code(change.name);
  const note = (() => {
    switch (change.kind) {
      case 'added':
        return 'added';
      case 'removed':
        return 'removed';
      case 'follows':
        return 'follows changed';
      case 'updated': {
        if (change.compareUrl) return link('compare', change.compareUrl);
        if (change.old?.original !== change.new?.original) return `source: ${code(change.new?.original ?? '')}`;
        const count = change.old?.revCount !== undefined && change.new?.revCount !== undefined ? change.new.revCount - change.old.revCount : undefined;
        return count !== undefined && count > 0 ? `${count} commit${count === 1 ? '' : 's'}` : 'updated';
      }
    }
  })();
  return `| ${name} | ${revisionCell(change.old, change.oldFollows)} | ${revisionCell(change.new, change.newFollows)} | ${note} |`;
}

function signedBytes(n: number): string {
  return `${n > 0 ? '+' : n < 0 ? '−' : '±'}${formatBytes(Math.abs(n))}`;
}

function hostRow(host: HostClosure): string {
  if (!host.diff) return `| ${cell(host.host)} | — | — | ${cell(host.error ? `not compared: ${firstLine(host.error)}` : 'not compared')} |`;
  const { diff } = host;
  const counts = (['changed', 'added', 'removed', 'rebuilt'] as const)
    .map((kind) => [kind, diff.changes.filter((c) => c.kind === kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  return `| ${cell(host.host)} | ${formatBytes(diff.before.size)} → ${formatBytes(diff.after.size)} | ${signedBytes(diff.sizeDelta)} | ${counts.join(', ') || 'no package changes'} |`;
}

function packageRow(change: PackageChange): string {
  const versions = change.kind === 'rebuilt' ? 'rebuilt' : describeVersions(change);
  return `| ${cell(change.name)} | ${cell(versions)} | ${signedBytes(change.sizeDelta)} |`;
}

function hostDetails(host: HostClosure): string {
  const changes = host.diff?.changes ?? [];
  return details(`${host.host}: ${changes.length} package change${changes.length === 1 ? '' : 's'}`, table(['Package', 'Versions', 'Size'], []).concat(changes.map(packageRow)).join('\n'));
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** The commit message of a bump: the title, then one line per changed input (like Nix's own). */
export function renderCommitMessage(title: string, report: BumpReport): string {
  const lines = [title, ''];
  for (const flake of report.flakes) {
    if (report.flakes.length > 1) lines.push(`${flake.lockPath}:`);
    for (const change of flake.changes) lines.push(`• ${describeChangeLine(change)}`);
  }
  return lines.join('\n').trim() + '\n';
}

/** `Updated input 'nixpkgs': abc1234 (2024-11-01) → def5678 (2024-11-08)`. */
export function describeChangeLine(change: InputChange): string {
  const rev = (r: InputRevision | undefined, follows: string | undefined) =>
    follows !== undefined ? `follows '${follows}'` : r ? `${r.shortRev ?? r.locked}${r.date ? ` (${r.date})` : ''}` : '∅';
  const verb = { updated: 'Updated', added: 'Added', removed: 'Removed', follows: 'Changed' }[change.kind];
  return `${verb} input '${change.name}': ${rev(change.old, change.oldFollows)} → ${rev(change.new, change.newFollows)}`;
}
