import { formatDuration } from '../util/duration.js';
import { formatTime } from '../util/timestamp.js';
import { markdownCode, markdownTable, markdownText } from '../util/markdown.js';
import { describeQuorum } from './gate.js';
import { describeHold } from './holds.js';
import type { GroupGate, HoldInfo, HostGate, HostState } from './types.js';

/** The evidence columns: what a reviewer checks before merging a promotion. */
export const EVIDENCE_HEADERS = ['Host', 'Expected path', 'Running path', 'Adopted at', 'Soak', 'Health', 'State'];

const STATE_MARK: Record<HostState, string> = {
  passing: '✅ passing',
  unchanged: '✅ unchanged',
  soaking: '⏳ soaking',
  behind: '⬜ behind',
  failed: '❌ failed',
  straggler: '📴 straggler',
  unreadable: '⛔ unreadable',
  unknown: '❔ unknown',
};

/**
 * One row of Markdown cells per host (code spans for paths). What a host reports (its running
 * path, failed units, last error) is shown as text: a report is not trusted to format the page.
 */
export function evidenceRows(gate: Pick<GroupGate, 'hosts' | 'soakMs'>): string[][] {
  return gate.hosts.map((host) => [
    markdownText(host.host),
    host.expected ? markdownCode(host.expected) : '—',
    host.running ? markdownCode(host.running) : '—',
    adoptedCell(host),
    soakCell(host, gate.soakMs),
    markdownText(healthCell(host)),
    `${STATE_MARK[host.state]}${host.detail && host.state !== 'passing' ? `: ${markdownText(host.detail)}` : ''}`,
  ]);
}

/** The adoption time; when the soak counts from a later one, that time and why. */
function adoptedCell(host: HostGate): string {
  if (!host.adoptedAt) return '—';
  if (!host.soakStartedAt) return formatTime(host.adoptedAt);
  return `${formatTime(host.soakStartedAt)} (reported ${formatTime(host.adoptedAt)}; soak counted from ${formatTime(host.soakStartedAt)}: ${markdownText(host.soakNote ?? '')})`;
}

function soakCell(host: HostGate, soakMs: number): string {
  if (host.state === 'unchanged') return 'not needed';
  if (host.soakedMs === undefined) return '—';
  return `${formatDuration(host.soakedMs)} / ${formatDuration(soakMs)}`;
}

function healthCell(host: HostGate): string {
  if (host.health === 'unknown') return '—';
  const parts: string[] = [host.health === 'ok' ? 'ok' : 'failed'];
  if (host.failedUnits.length > 0) parts.push(`failed units: ${host.failedUnits.join(', ')}`);
  if (host.lastError) parts.push(`last error: ${host.lastError}`);
  if (host.needsReboot) parts.push('needs reboot');
  return parts.join('; ');
}

export { markdownTable };

/** One line about a gate: `first: passed (3 of 3 seen pass, quorum 100%, soak 1h)`. */
export function gateLine(gate: GroupGate): string {
  const counts = `${gate.passing} of ${gate.seen} seen pass, ${gate.required} needed; quorum ${describeQuorum(gate.quorum)}, soak ${formatDuration(gate.soakMs)}`;
  const stragglers = gate.stragglers.length > 0 ? `; stragglers: ${gate.stragglers.join(', ')}` : '';
  const ready = gate.readyAt ? `; earliest pass ${formatTime(gate.readyAt)}` : '';
  return `${gate.name}: ${gate.state} (${counts}${stragglers}${ready})`;
}

/** A left-to-right Mermaid flowchart of the waves and their gates. */
export function mermaidWaves(gates: readonly GroupGate[]): string {
  const lines = ['flowchart LR'];
  gates.forEach((gate, i) => {
    const label = [`${gate.name}`, `${gate.state}`, `${gate.passing}/${gate.seen} seen pass, ${gate.required} needed`];
    if (gate.channel) label.push(`channel ${gate.channel}`);
    if (gate.stragglers.length > 0) label.push(`${gate.stragglers.length} offline`);
    lines.push(`  w${i}["${label.map(mermaidText).join('<br/>')}"]:::${gate.state}`);
    if (i > 0) lines.push(`  w${i - 1} --> w${i}`);
  });
  lines.push(
    '  classDef passed fill:#d4f7d4,stroke:#2a8a2a',
    '  classDef waiting fill:#fff4c2,stroke:#b08900',
    '  classDef failed fill:#fbd3d3,stroke:#b00020',
    '  classDef empty fill:#eeeeee,stroke:#888888',
  );
  return lines.join('\n');
}

function mermaidText(text: string): string {
  return text.replace(/["<>]/g, (c) => ({ '"': '#quot;', '<': '#lt;', '>': '#gt;' })[c] ?? c);
}

export function holdLines(holds: readonly HoldInfo[]): string[] {
  return holds.map((hold) => `- ${hold.url ? `[${markdownText(describeHold(hold))}](${hold.url})` : markdownText(describeHold(hold))}`);
}

export { formatTime };

/** The gate's evidence as a Markdown section. */
export function gateSection(gate: GroupGate): string {
  const parts = [markdownText(gateLine(gate)), '', markdownTable(EVIDENCE_HEADERS, evidenceRows(gate))];
  if (gate.reasons.length > 0) parts.push('', ...gate.reasons.map((r) => `- ${markdownText(r)}`));
  return parts.join('\n');
}
