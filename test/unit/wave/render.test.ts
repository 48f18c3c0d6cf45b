import { evaluateGate } from '../../../src/wave/gate.js';
import { blockingHolds, describeHold, inventoryHolds } from '../../../src/wave/holds.js';
import { gateLine, markdownTable, mermaidWaves } from '../../../src/wave/render.js';
import { markdownText } from '../../../src/util/markdown.js';
import { advanceBody, nextAdvance, sizeRows } from '../../../src/wave/advance.js';
import { promotionBody } from '../../../src/wave/promote.js';
import { summaryMarkdown } from '../../../src/wave/summary.js';
import { parseInventoryText } from '../../../src/fleet/inventory.js';
import type { Wave } from '../../../src/fleet/types.js';

const now = new Date('2025-03-10T12:00:00Z');
const sys = (host: string) => `/nix/store/${'a'.repeat(32)}-nixos-system-${host}`;
const gate = evaluateGate({
  name: 'first',
  channel: 'nixos-25.05',
  hosts: [{ name: 'a' }, { name: 'b' }],
  expected: new Map([['a', sys('a')], ['b', sys('b')]]),
  reports: new Map([
    ['a', { host: 'a', system: sys('a'), booted: sys('a'), profileGeneration: 1, failedUnits: [], needsReboot: false, lastError: null, reportedAt: now, adoptedAt: new Date(now.getTime() - 7_200_000), manifestSequence: 1, agentVersion: '1', desired: null }],
  ]),
  soakMs: 3_600_000,
  quorum: { percent: 100 },
  offlineAfterMs: 86_400_000,
  now,
});

describe('rendering', () => {
  it('escapes pipes and newlines in Markdown tables', () => {
    expect(markdownTable(['A', 'B'], [[markdownText('x|y'), 'line\nbreak']])).toBe('| A | B |\n| --- | --- |\n| x\\|y | line break |');
  });

  it('summarises a gate in one line', () => {
    expect(gateLine(gate)).toBe('first: passed (1 of 1 seen pass, 1 needed; quorum 100%, soak 1h0m; stragglers: b)');
  });

  it('draws the waves as a Mermaid flowchart, escaping labels', () => {
    const chart = mermaidWaves([gate, { ...gate, name: 'mid"dle<x>', state: 'waiting', channel: undefined }]);
    expect(chart.split('\n').slice(0, 4)).toEqual([
      'flowchart LR',
      '  w0["first<br/>passed<br/>1/1 seen pass, 1 needed<br/>channel nixos-25.05<br/>1 offline"]:::passed',
      '  w1["mid#quot;dle#lt;x#gt;<br/>waiting<br/>1/1 seen pass, 1 needed<br/>1 offline"]:::waiting',
      '  w0 --> w1',
    ]);
  });

  it('writes the promotion evidence with the verdict, stragglers and holds', () => {
    const body = promotionBody({ source: 'staging', target: 'main', candidate: 'abc', aheadBy: 1, gate, holds: [{ source: 'label', reason: 'issue "x" has the label fleet-hold', number: 4, url: 'https://github.com/acme/fleet/issues/4' }], verdict: 'Blocked: held.', now, runUrl: 'https://run' });
    expect(body).toContain('Promotes `staging` (1 commit ahead, candidate `abc`) to `main`.');
    expect(body).toContain('**Blocked: held.**');
    expect(body).toContain(`| a | \`${sys('a')}\` | \`${sys('a')}\` | 2025-03-10T10:00:00Z | 2h0m / 1h0m | ok | ✅ passing |`);
    expect(body).toContain(`| b | \`${sys('b')}\` | — | — | — | — | 📴 straggler: has never reported |`);
    expect(body).toContain('Stragglers (not seen recently; not blocking, not counted): b');
    expect(body).toContain('- [#4: issue "x" has the label fleet-hold](https://github.com/acme/fleet/issues/4)');
    expect(body).toContain('_Updated by fleet upgrade-wave at 2025-03-10T12:00:00Z ([run](https://run))._');
  });

  it('shows size changes and unknowns', () => {
    expect(sizeRows([
      { host: 'a', from: sys('a'), to: sys('b'), change: -2048, closureAfter: 1_048_576, download: 512, downloadCompressed: true },
      { host: 'b', note: 'the new system is not known' },
      { host: 'c', from: sys('a'), to: sys('b'), change: 0, download: 3 * 1024 * 1024, downloadCompressed: true, fetchBytesPerSecond: 1024 },
      { host: 'd', from: sys('a'), to: sys('b'), change: 0, download: 3 * 1024 * 1024, downloadCompressed: false, fetchBytesPerSecond: 1024 },
      { host: 'e', from: sys('a'), to: sys('a'), change: 0, download: 0, downloadCompressed: true, fetchBytesPerSecond: 1024 },
    ])).toEqual([
      ['a', `\`${sys('a')}\``, `\`${sys('b')}\``, '−2.0 KiB (to 1.0 MiB)', '512 B', 'no rate reported'],
      ['b', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown'],
      // At the host's link: about for compressed sizes, at most when NAR sizes stand in for them.
      ['c', `\`${sys('a')}\``, `\`${sys('b')}\``, '+0 B', '3.0 MiB', 'about 51m12s at 1.0 KiB/s'],
      ['d', `\`${sys('a')}\``, `\`${sys('b')}\``, '+0 B', '3.0 MiB (uncompressed)', 'at most 51m12s at 1.0 KiB/s'],
      ['e', `\`${sys('a')}\``, `\`${sys('a')}\``, '+0 B', '0 B', 'nothing to fetch'],
    ]);
    const body = advanceBody({ from: 'first', to: 'middle', channel: 'nixos-25.05', previousChannel: 'nixos-24.11', path: 'fleet.yaml', gate, sizes: [], now });
    expect(body).toContain('This moves wave `middle` from `nixos-24.11` to `nixos-25.05`: one line of `fleet.yaml`.');
    expect(body).toContain('_No hosts in this wave._');
  });

  it('writes a job summary for every decision', () => {
    const markdown = summaryMarkdown({
      mode: 'promote', decision: 'waiting', reason: 'soaking', generatedAt: now, holds: [], waves: [gate], problems: [{ key: 'fleet/status/x.json', message: 'bad' }], warnings: ['careful'],
      promotion: { source: 'staging', target: 'main', aheadBy: 2, candidate: 'abc', gate },
      pullRequest: { number: 3, url: 'https://github.com/acme/fleet/pull/3', operation: 'updated', autoMerge: 'disabled' },
    });
    expect(markdown).toContain('⏳ **waiting**: soaking');
    expect(markdown).toContain('Pull request [#3](https://github.com/acme/fleet/pull/3) updated, auto-merge disabled.');
    expect(markdown).toContain('### Promotion staging → main');
    expect(markdown).toContain('- fleet/status/x.json: bad');
    expect(markdown).toContain('- careful');
  });
});

describe('host-provided text in the summary', () => {
  const HOSTILE_ERROR = '![x](https://evil/x.png) [click](https://evil) <img src=https://evil/y.png> | `rm` **now**';
  const hostile = evaluateGate({
    name: 'first',
    hosts: [{ name: 'a' }],
    expected: new Map([['a', sys('a')]]),
    reports: new Map([
      ['a', { host: 'a', system: sys('a'), booted: sys('a'), profileGeneration: 1, failedUnits: ['[u](https://evil).service', '<b>x</b>.service'], needsReboot: false, lastError: HOSTILE_ERROR, reportedAt: now, adoptedAt: now, manifestSequence: 1, agentVersion: '1', desired: null }],
    ]),
    soakMs: 3_600_000,
    quorum: { percent: 100 },
    offlineAfterMs: 86_400_000,
    now,
  });
  const markdown = summaryMarkdown({ mode: 'status', decision: 'blocked', reason: hostile.reasons.join('; '), generatedAt: now, holds: [], waves: [hostile], problems: [{ key: 'a', message: '<img src=https://evil/z.png>' }], warnings: [] });

  it('renders a report\'s lastError and failed units as text: no image, link, HTML or broken row', () => {
    expect(hostile.state).toBe('failed');
    expect(markdown).not.toMatch(/!\[x\]\(|\[click\]\(|\[u\]\(|<img|<b>/);
    expect(markdown).toContain('!\\[x\\](https://evil/x.png) \\[click\\](https://evil) &lt;img src=https://evil/y.png&gt; \\| \\`rm\\` \\*\\*now\\*\\*');
    expect(markdown).toContain('failed units: \\[u\\](https://evil).service, &lt;b&gt;x&lt;/b&gt;.service');
    const row = markdown.split('\n').find((line) => line.startsWith('| a |')) as string;
    // Seven cells: the pipe in the error did not add one.
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(7);
  });
});

describe('holds', () => {
  const inventory = parseInventoryText('environments: { p: {} }\nwaves: { a: { order: 1 }, b: { order: 2 } }\nholds: [{ reason: "freeze" }, { reason: "clinic window", waves: [b] }]\nhosts: {}\n', 'fleet.yaml');
  const holds = inventoryHolds(inventory);

  it('blocks promotions with every hold and advances with the holds of the moved wave', () => {
    expect(holds).toEqual([{ source: 'inventory', reason: 'freeze' }, { source: 'inventory', reason: 'clinic window', waves: ['b'] }]);
    expect(blockingHolds(holds, { kind: 'promote' })).toHaveLength(2);
    expect(blockingHolds(holds, { kind: 'advance', wave: 'a' }).map((h) => h.reason)).toEqual(['freeze']);
    expect(blockingHolds(holds, { kind: 'advance', wave: 'b' }).map((h) => h.reason)).toEqual(['freeze', 'clinic window']);
    expect(describeHold(holds[1] as (typeof holds)[number])).toBe('inventory hold: clinic window (waves: b)');
  });
});

describe('nextAdvance', () => {
  const wave = (name: string, order: number, channel?: string): Wave => ({ name, order, soakMs: 0, quorum: { percent: 100 }, ...(channel ? { channel } : {}) });

  it('finds the first wave behind the one before it', () => {
    expect(nextAdvance([wave('a', 1, 'new'), wave('b', 2, 'old'), wave('c', 3, 'old')])).toMatchObject({ from: { name: 'a' }, to: { name: 'b' } });
    expect(nextAdvance([wave('a', 1, 'new'), wave('b', 2, 'new'), wave('c', 3, 'old')])).toMatchObject({ from: { name: 'b' }, to: { name: 'c' } });
    expect(nextAdvance([wave('a', 1, 'new'), wave('b', 2)])).toMatchObject({ to: { name: 'b' } });
    expect(nextAdvance([wave('a', 1, 'x'), wave('b', 2, 'x')])).toBeUndefined();
    expect(nextAdvance([wave('a', 1), wave('b', 2, 'x')])).toBeUndefined();
  });
});
