import { createHash } from 'node:crypto';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { describeQuorum, describeRate } from '../wave/gate.js';
import { formatTime } from '../wave/render.js';
import type { WaveDuration } from '../wave/history.js';
import type { HostState } from '../wave/types.js';
import { escapeHtml, jsonForScript } from './html.js';
import { STATUS_PAGE_SCRIPT } from './script.js';
import { STATUS_PAGE_CSS } from './style.js';
import type { StatusHost, StatusPageInput, StatusWave } from './types.js';

/** Worst first: the order of the state column when sorted, and of the counts at the top. */
const STATE_ORDER: readonly HostState[] = ['failed', 'unreadable', 'behind', 'straggler', 'unknown', 'soaking', 'unchanged', 'passing'];

type SortValue = string | number | null;

interface Column {
  key: string;
  label: string;
  /** Shown only when this holds (default: always). */
  shown?(input: StatusPageInput): boolean;
  /** The cell's HTML: every value in it escaped. */
  cell(host: StatusHost, input: StatusPageInput): string;
  sort(host: StatusHost, input: StatusPageInput): SortValue;
}

const text = (value: string | undefined) => (value ? escapeHtml(value) : '<span class="muted">—</span>');
const time = (date: Date | undefined) => (date ? date.getTime() : null);

const COLUMNS: readonly Column[] = [
  { key: 'host', label: 'Host', cell: (h) => `<strong>${escapeHtml(h.host)}</strong>`, sort: (h) => h.host },
  { key: 'wave', label: 'Wave', cell: (h) => (h.wave ? escapeHtml(h.wave) : '<span class="muted">none</span>'), sort: (h, input) => waveIndex(h, input) },
  { key: 'environment', label: 'Environment', cell: (h) => text(h.environment), sort: (h) => h.environment || null },
  { key: 'tags', label: 'Tags', cell: (h) => text(h.tags.join(', ')), sort: (h) => h.tags.join(',') || null },
  { key: 'state', label: 'State', cell: stateCell, sort: (h) => STATE_ORDER.indexOf(h.state) },
  { key: 'expected', label: 'Expected system', cell: (h) => systemCell(h.expected), sort: (h) => h.expected ?? null },
  { key: 'running', label: 'Running system', cell: (h) => systemCell(h.running), sort: (h) => h.running ?? null },
  { key: 'closureChange', label: 'Closure change', shown: (input) => input.sizes !== undefined, cell: closureChangeCell, sort: (h, input) => input.sizes?.get(h.host)?.change ?? null },
  { key: 'download', label: 'Download', shown: (input) => input.hosts.some((h) => h.download), cell: downloadCell, sort: (h) => h.download?.bytes ?? null },
  { key: 'adoptedAt', label: 'Adopted at', cell: (h) => timeCell(h.adoptedAt), sort: (h) => time(h.adoptedAt) },
  { key: 'runningSince', label: 'Running since', shown: (input) => input.history !== undefined, cell: runningSinceCell, sort: (h, input) => time(input.history?.hosts.get(h.host)?.since) },
  { key: 'reportedAt', label: 'Last seen', cell: lastSeenCell, sort: (h) => time(h.reportedAt) },
  { key: 'failedUnits', label: 'Failed units', cell: (h) => text(h.failedUnits.join(', ')), sort: (h) => h.failedUnits.length || null },
  { key: 'needsReboot', label: 'Needs reboot', cell: (h) => (h.needsReboot ? 'yes' : 'no'), sort: (h) => (h.needsReboot ? 0 : 1) },
  { key: 'lastError', label: 'Last error', cell: (h) => (h.lastError ? `<span class="error">${escapeHtml(h.lastError)}</span>` : text(undefined)), sort: (h) => h.lastError || null },
];

/** The wave filter's value for hosts in no wave (no wave can be named so: names start with a letter or digit). */
const NO_WAVE = '(none)';

/** Waves in order, hosts in no wave after them. */
function waveIndex(host: StatusHost, input: StatusPageInput): number {
  const index = input.waves.findIndex((w) => w.name === host.wave);
  return index < 0 ? input.waves.length : index;
}

/** The columns this page shows: "Running since" only with a status history, "Closure change" only with sizes. */
const columnsOf = (input: StatusPageInput): Column[] => COLUMNS.filter((c) => c.shown?.(input) ?? true);

const FILTERS: readonly { key: string; label: string; values: (input: StatusPageInput) => string[] }[] = [
  { key: 'wave', label: 'Wave', values: (input) => [...input.waves.map((w) => w.name), ...(input.hosts.some((h) => !h.wave) ? [NO_WAVE] : [])] },
  { key: 'environment', label: 'Environment', values: (input) => distinct(input.hosts.map((h) => h.environment).filter(Boolean)).sort() },
  { key: 'tag', label: 'Tag', values: (input) => distinct(input.hosts.flatMap((h) => h.tags)).sort() },
  { key: 'state', label: 'State', values: (input) => STATE_ORDER.filter((s) => input.hosts.some((h) => h.state === s)) },
];

/**
 * The status page: one HTML file that needs nothing else (inline style and script, no request
 * to anywhere), readable offline and on a phone. Its Content-Security-Policy allows only its own
 * script and style, so even a string that escaped escaping could neither run nor fetch anything.
 */
export function renderStatusPage(input: StatusPageInput): string {
  const scriptHash = createHash('sha256').update(STATUS_PAGE_SCRIPT).digest('base64');
  const policy = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:; form-action 'none'; base-uri 'none'`;
  const data = { hosts: input.hosts.map((h) => ({ host: h.host, wave: h.wave || NO_WAVE, environment: h.environment, tags: h.tags, state: h.state, sort: sortValues(h, input) })) };
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(policy)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>fleet status ${escapeHtml(formatTime(input.generatedAt))}</title>`,
    `<style>${STATUS_PAGE_CSS}</style>`,
    '</head>',
    '<body>',
    header(input),
    wavesSection(input),
    historySection(input),
    hostsSection(input),
    problemsSection(input),
    `<script type="application/json" id="fleet-status-data">${jsonForScript(data)}</script>`,
    `<script>${STATUS_PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function header(input: StatusPageInput): string {
  const counts = STATE_ORDER.map((state) => [state, input.hosts.filter((h) => h.state === state).length] as const).filter(([, n]) => n > 0);
  const outside = input.hosts.filter((h) => !h.wave).length;
  const holds = input.holds.length > 0 ? `<h2>Holds</h2><ul>${input.holds.map((h) => `<li>${escapeHtml(h)}</li>`).join('')}</ul>` : '';
  return [
    '<header>',
    '<h1>fleet status</h1>',
    `<p><span class="state state-${escapeHtml(input.decision)}">${escapeHtml(input.decision)}</span>: ${escapeHtml(input.reason)}</p>`,
    `<p class="muted">As of ${escapeHtml(formatTime(input.generatedAt))}; ${input.hosts.length} hosts in ${input.waves.length} waves${outside > 0 ? ` (${outside} in no wave)` : ''}.</p>`,
    `<ul class="counts">${counts.map(([state, n]) => `<li><span class="state state-${state}">${state}</span> ${n}</li>`).join('')}</ul>`,
    holds,
    '</header>',
  ].join('\n');
}

function wavesSection(input: StatusPageInput): string {
  if (input.waves.length === 0) return '<h2>Waves</h2><p>The inventory has no waves.</p>';
  return `<h2>Waves</h2>\n<div class="waves">\n${input.waves.map((wave) => waveCard(wave, input)).join('\n')}\n</div>`;
}

function waveCard(wave: StatusWave, input: StatusPageInput): string {
  const took = input.history?.waves.get(wave.name);
  const names = (list: readonly string[]) => (list.length > 0 ? `${list.length}: ${escapeHtml(list.join(', '))}` : 'none');
  const rows: [string, string][] = [
    ['Quorum', `${wave.passing} passing / ${wave.required} required of ${wave.seen} seen (${wave.total} hosts, quorum ${escapeHtml(describeQuorum(wave.quorum))})`],
    ['Soak', escapeHtml(formatDuration(wave.soakMs))],
    ...(wave.channel ? [['Channel', `<code>${escapeHtml(wave.channel)}</code>`] as [string, string]] : []),
    ['Stragglers', names(wave.stragglers)],
    ['Failures', names(wave.failures)],
    ['Unreadable', names(wave.unreadable)],
    ...(wave.readyAt ? [['Ready at', escapeHtml(formatTime(wave.readyAt))] as [string, string]] : []),
    ...(took ? [['Took', tookText(took)] as [string, string]] : []),
  ];
  const reasons = wave.reasons.length > 0 ? `<ul class="reasons">${wave.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>` : '';
  return [
    `<section class="wave" data-wave="${escapeHtml(wave.name)}">`,
    `<h3>${escapeHtml(wave.name)} <span class="state state-${escapeHtml(wave.state)}">${escapeHtml(wave.state)}</span></h3>`,
    `<dl>${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('')}</dl>`,
    reasons,
    '</section>',
  ].join('\n');
}

function hostsSection(input: StatusPageInput): string {
  const filters = FILTERS.map((f) => {
    const options = f.values(input).map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`);
    return `<label>${f.label}<select data-filter="${f.key}" name="${f.key}"><option value="">all</option>${options.join('')}</select></label>`;
  });
  const columns = columnsOf(input);
  const head = columns.map((c) => `<th scope="col" data-sort="${c.key}"><button type="button">${c.label}</button></th>`).join('');
  const rows = input.hosts.map((host, index) => {
    const cells = columns.map((c) => `<td data-label="${c.label}">${c.cell(host, input)}</td>`).join('');
    return `<tr data-index="${index}" data-host="${escapeHtml(host.host)}" data-state="${escapeHtml(host.state)}">${cells}</tr>`;
  });
  return [
    '<h2>Hosts</h2>',
    // Hidden until the script runs: without it the filters would do nothing.
    `<div class="filters" id="filters" hidden>${filters.join('')}<span id="shown-count" aria-live="polite"></span></div>`,
    '<div class="table"><table>',
    `<thead><tr>${head}</tr></thead>`,
    `<tbody id="hosts-body">\n${rows.join('\n')}\n</tbody>`,
    '</table></div>',
  ].join('\n');
}

/** How much history the page draws on, and the records it had to skip. */
function historySection(input: StatusPageInput): string {
  const history = input.history;
  if (!history) return '';
  const span = history.records === 1 ? `1 record, ${escapeHtml(formatTime(history.newest))}` : `${history.records} records, ${escapeHtml(formatTime(history.oldest))} to ${escapeHtml(formatTime(history.newest))}`;
  const skipped = history.problems.length > 0
    ? `<p class="error">${history.problems.length} unreadable ${history.problems.length === 1 ? 'record' : 'records'} skipped:</p><ul>${history.problems.map((p) => `<li><code>${escapeHtml(p.key)}</code>: ${escapeHtml(p.message)}</li>`).join('')}</ul>`
    : '';
  return `<section class="history" id="history"><h2>History</h2><p class="muted">From the status history: ${span}.</p>${skipped}</section>`;
}

/** A wave's time to pass its current expected systems: done, or so far. */
function tookText(took: WaveDuration): string {
  const from = took.before ? `expected since before ${timeCell(took.since)}` : `expected since ${timeCell(took.since)}`;
  if (!took.passedAt) return `<span class="took">not passed yet, ${escapeHtml(formatDuration(took.ms))} so far</span><span class="detail">${from}</span>`;
  const atLeast = took.before ? 'at least ' : '';
  return `<span class="took">${atLeast}${escapeHtml(formatDuration(took.ms))}</span><span class="detail">${from}; passed ${timeCell(took.passedAt)}</span>`;
}

/**
 * Since when the host runs its current system, by the history: "before" the oldest record when all
 * agree, and for how long (or that it changed since the previous run).
 */
function runningSinceCell(host: StatusHost, input: StatusPageInput): string {
  const history = input.history;
  const since = history?.hosts.get(host.host);
  if (!history || !since) return text(undefined);
  const ago = input.generatedAt.getTime() - since.since.getTime();
  const detail =
    since.since.getTime() < history.newest.getTime() ? `for ${since.before ? 'at least ' : ''}${formatDuration(ago)}` : since.before ? 'the history starts with this run' : 'changed since the previous run';
  return `<span>${since.before ? 'before ' : ''}${timeCell(since.since)}</span><span class="detail">${escapeHtml(detail)}</span>`;
}

/** What moving to the expected system changes in the closure (NAR bytes), and what the host downloads. */
function closureChangeCell(host: StatusHost, input: StatusPageInput): string {
  const size = input.sizes?.get(host.host);
  if (!size) return text(undefined);
  if (size.change === undefined) return `<span class="detail">${escapeHtml(size.note ?? 'unknown')}</span>`;
  const sign = size.change >= 0 ? '+' : '−';
  const download = size.download === undefined ? '' : `download ${formatBytes(size.download)}${size.downloadCompressed ? '' : ' (uncompressed)'}`;
  // At the rate the host's link last delivered: how long that download takes.
  const rate = host.fetchBytesPerSecond;
  const time = size.download && rate ? `<span class="detail">${size.downloadCompressed ? 'about' : 'at most'} ${escapeHtml(describeRate(size.download, rate))}</span>` : '';
  return `<span>${sign}${escapeHtml(formatBytes(Math.abs(size.change)))}</span><span class="detail">${escapeHtml(download)}</span>${time}`;
}

/** What of its expected system the host still fetches: a bar, bytes and paths left, and when it said so. */
function downloadCell(host: StatusHost): string {
  const d = host.download;
  if (!d) return text(undefined);
  const done = d.totalBytes - d.bytes;
  const label = `${formatBytes(d.bytes)} of ${formatBytes(d.totalBytes)} left`;
  return [
    `<progress max="${d.totalBytes}" value="${done}" aria-label="${escapeHtml(label)}"></progress>`,
    `<span>${escapeHtml(label)}</span>`,
    `<span class="detail">${d.paths} of ${d.totalPaths} paths, as of ${timeCell(d.measuredAt)}</span>`,
    ...(host.fetchBytesPerSecond ? [`<span class="detail">at most ${escapeHtml(describeRate(d.bytes, host.fetchBytesPerSecond))}</span>`] : []),
  ].join('');
}

function problemsSection(input: StatusPageInput): string {
  if (input.problems.length === 0) return '';
  return `<h2>Unusable status</h2><ul>${input.problems.map((p) => `<li><code>${escapeHtml(p.key)}</code>: ${escapeHtml(p.message)}</li>`).join('')}</ul>`;
}

function stateCell(host: StatusHost): string {
  const detail = host.detail ? `<span class="detail">${escapeHtml(host.detail)}</span>` : '';
  return `<span class="state state-${escapeHtml(host.state)}">${escapeHtml(host.state)}</span>${detail}`;
}

/** `7sjkn0cx…-nixos-system-web1-24.11`, the full path in the title. */
function systemCell(path: string | undefined): string {
  if (!path) return text(undefined);
  return `<code title="${escapeHtml(path)}">${escapeHtml(shortSystem(path))}</code>`;
}

export function shortSystem(path: string): string {
  const match = /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-(.+)$/.exec(path);
  return match ? `${(match[1] as string).slice(0, 8)}…-${match[2]}` : path;
}

function timeCell(date: Date | undefined): string {
  return date ? `<time datetime="${escapeHtml(date.toISOString())}">${escapeHtml(formatTime(date))}</time>` : text(undefined);
}

/** When the host last reported, and how long ago that was when the page was made. */
function lastSeenCell(host: StatusHost, input: StatusPageInput): string {
  if (!host.reportedAt) return '<span class="muted">never</span>';
  const ago = input.generatedAt.getTime() - host.reportedAt.getTime();
  return `${timeCell(host.reportedAt)}${ago >= 0 ? `<span class="detail">${escapeHtml(formatDuration(ago))} ago</span>` : ''}`;
}

function sortValues(host: StatusHost, input: StatusPageInput): Record<string, SortValue> {
  return Object.fromEntries(columnsOf(input).map((c) => [c.key, c.sort(host, input)]));
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
