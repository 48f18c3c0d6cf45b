import { renderStatusPage, statusPageInput } from '../../../src/status-page/index.js';
import type { StatusHistory } from '../../../src/wave/history.js';
import { NOW, statusFleet } from './fixtures.js';

const HOUR = 3_600_000;
const ago = (hours: number) => new Date(NOW.getTime() - hours * HOUR);

/** The page with what the status history says: per host since when, per wave how long. */
describe('renderStatusPage with a status history', () => {
  const { report, inventory } = statusFleet(12);
  const history: StatusHistory = {
    records: 30,
    oldest: ago(29),
    newest: NOW,
    hosts: new Map([
      ['host000', { since: ago(29), before: true }],
      ['host001', { since: ago(5), before: false }],
      ['host003', { since: NOW, before: false }],
      ['host004', { since: NOW, before: true }],
    ]),
    waves: new Map([
      ['first', { since: ago(20), before: false, passedAt: ago(14), ms: 6 * HOUR }],
      ['middle', { since: ago(29), before: true, ms: 29 * HOUR }],
    ]),
    problems: [{ key: 'fleet/status-history/20250310T110000Z.json', message: 'it is not a status history record: Unexpected token \'<\', "<script>" is not valid JSON' }],
  };
  const page = renderStatusPage(statusPageInput(report, inventory, history));
  const row = (host: string) => new RegExp(`<tr data-index="\\d+" data-host="${host}"[^>]*>(.*?)</tr>`).exec(page)?.[1] ?? '';

  it('shows per host since when it runs its system, "before" the oldest record when all records agree', () => {
    expect(page).toContain('<th scope="col" data-sort="runningSince"><button type="button">Running since</button></th>');
    expect(row('host001')).toContain('<td data-label="Running since"><span><time datetime="2025-03-10T07:00:00.000Z">2025-03-10T07:00:00Z</time></span><span class="detail">for 5h0m</span></td>');
    expect(row('host000')).toContain('<td data-label="Running since"><span>before <time datetime="2025-03-09T07:00:00.000Z">2025-03-09T07:00:00Z</time></span><span class="detail">for at least 29h0m</span></td>');
    expect(row('host003')).toContain('</time></span><span class="detail">changed since the previous run</span></td>');
    expect(row('host004')).toContain('</time></span><span class="detail">the history starts with this run</span></td>');
    expect(row('host002')).toContain('<td data-label="Running since"><span class="muted">—</span></td>');
  });

  it('sorts by it', () => {
    const data = JSON.parse(/<script type="application\/json" id="fleet-status-data">([^<]*)<\/script>/.exec(page)?.[1] as string);
    expect(data.hosts[0].sort.runningSince).toBe(ago(29).getTime());
    expect(data.hosts[2].sort.runningSince).toBeNull();
  });

  it('shows per wave how long it took to pass, or how long so far', () => {
    const card = (wave: string) => new RegExp(`<section class="wave" data-wave="${wave}">([\\s\\S]*?)</section>`).exec(page)?.[1] ?? '';
    expect(card('first')).toContain('<dt>Took</dt><dd><span class="took">6h0m</span><span class="detail">expected since <time datetime="2025-03-09T16:00:00.000Z">2025-03-09T16:00:00Z</time>; passed <time datetime="2025-03-09T22:00:00.000Z">2025-03-09T22:00:00Z</time></span></dd>');
    expect(card('middle')).toContain('<dt>Took</dt><dd><span class="took">not passed yet, 29h0m so far</span><span class="detail">expected since before <time');
    expect(card('final')).not.toContain('<dt>Took</dt>');
  });

  it('says what history it drew on and lists, escaped, the records it skipped', () => {
    expect(page).toContain('<h2>History</h2><p class="muted">From the status history: 30 records, 2025-03-09T07:00:00Z to 2025-03-10T12:00:00Z.</p>');
    expect(page).toContain('<p class="error">1 unreadable record skipped:</p>');
    expect(page).toContain('&quot;&lt;script&gt;&quot; is not valid JSON');
    expect(page.match(/<script/g)).toHaveLength(2);
  });

  it('has no history column or section without a history', () => {
    const plain = renderStatusPage(statusPageInput(report, inventory));
    expect(plain).not.toContain('Running since');
    expect(plain).not.toContain('<h2>History</h2>');
    expect(plain).not.toContain('<dt>Took</dt>');
  });
});
