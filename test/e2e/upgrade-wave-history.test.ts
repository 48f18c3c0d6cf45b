import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { renderStatusReport, statusReportKey } from '../../src/fleet/status.js';
import { runAction } from '../support/harness.js';
import { FLEET_YAML, HOUR, NOW, report, systemPath } from '../integration/wave-fixtures.js';

const HOSTS = ['stage1', 'stage2', 'web1', 'web2', 'clinic-kin'];
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR);
const iso = (date: Date) => date.toISOString().replace(/\.000Z$/, 'Z');

/**
 * The committed bundle's status mode with `history: true`, run three times as a schedule would
 * (FLEET_NOW moved forward) against a file:// store whose reports change between runs:
 *
 *   +0h  everyone runs generation 2, which is expected: every wave passed
 *   +1h  generation 3 is expected; nobody runs it yet
 *   +3h  stage1 and stage2 run it since +1h30m (past wave first's 1h soak): first passed again
 */
describe('action-upgrade-wave bundle: the status history', () => {
  let workspace: string;
  let storeDir: string;
  let store: OpenedStore;

  const putReports = async (generation: (host: string) => number, adoptedAt: (host: string) => Date, reportedAt: Date) => {
    for (const host of HOSTS) {
      const system = systemPath(host, generation(host));
      await store.put(statusReportKey(host), renderStatusReport(report(host, { system, booted: system, reportedAt, adoptedAt: adoptedAt(host) })), 'application/json');
    }
  };

  const run = (hours: number, generation: number, inputs: Record<string, string>) =>
    runAction('action-upgrade-wave', {
      inputs: { mode: 'status', cache: `file://${storeDir}`, token: '', expected: JSON.stringify(Object.fromEntries(HOSTS.map((h) => [h, systemPath(h, generation)]))), ...inputs },
      env: { FLEET_NOW: at(hours).toISOString() },
      cwd: workspace,
    });

  const historyKeys = async () => (await readdir(join(storeDir, 'fleet', 'status-history'))).sort();

  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'fleet-wave-history-'));
    storeDir = await mkdtemp(join(tmpdir(), 'fleet-wave-history-store-'));
    await writeFile(join(workspace, 'fleet.yaml'), FLEET_YAML);
    store = openStore(`file://${storeDir}`);
    await store.put('nix-cache-info', 'StoreDir: /nix/store\n', 'text/x-nix-cache-info');
  });

  afterAll(async () => {
    await store.close();
    await rm(workspace, { recursive: true, force: true });
    await rm(storeDir, { recursive: true, force: true });
  });

  let page: string;

  it('appends one record per run, and the last run\'s page shows when a host last changed and how long a wave took', async () => {
    const twoDaysAgo = () => at(-48);
    await putReports(() => 2, twoDaysAgo, at(-0.1));
    const first = await run(0, 2, { history: 'true' });
    expect(first.exitCode).toBe(0);
    expect(first.outputs.decision).toBe('nothing-to-do');

    await putReports(() => 2, twoDaysAgo, at(0.9));
    const second = await run(1, 3, { history: 'true' });
    expect(second.exitCode).toBe(0);
    expect(second.outputs.decision).toBe('waiting');

    const staging = (host: string) => host.startsWith('stage');
    await putReports((h) => (staging(h) ? 3 : 2), (h) => (staging(h) ? at(1.5) : twoDaysAgo()), at(2.9));
    const third = await run(3, 3, { history: 'true', html: 'status.html' });
    expect(third.exitCode).toBe(0);
    expect(third.outputs['report-html']).toBe('status.html');

    expect(await historyKeys()).toEqual(['20250310T120000Z.json', '20250310T130000Z.json', '20250310T150000Z.json']);
    const last = JSON.parse(await readFile(join(storeDir, 'fleet', 'status-history', '20250310T150000Z.json'), 'utf8'));
    expect(last).toEqual({
      format: 1,
      at: '2025-03-10T15:00:00.000Z',
      w: { first: 'passed', middle: 'waiting', final: 'waiting' },
      h: expect.objectContaining({ stage1: { w: 'first', s: 'passing', r: systemPath('stage1', 3), e: systemPath('stage1', 3) }, web1: { w: 'middle', s: 'behind', r: systemPath('web1', 2), e: systemPath('web1', 3) } }),
    });

    page = await readFile(join(workspace, 'status.html'), 'utf8');
    const row = (host: string) => new RegExp(`<tr data-index="\\d+" data-host="${host}"[^>]*>(.*?)</tr>`).exec(page)?.[1] ?? '';
    const card = (wave: string) => new RegExp(`<section class="wave" data-wave="${wave}">([\\s\\S]*?)</section>`).exec(page)?.[1] ?? '';
    // stage1 changed system between +1h and +3h: the history saw it first at +3h.
    expect(row('stage1')).toContain(`<td data-label="Running since"><span><time datetime="${at(3).toISOString()}">${iso(at(3))}</time></span><span class="detail">changed since the previous run</span></td>`);
    // web1 never changed: since before the oldest record.
    expect(row('web1')).toContain(`<td data-label="Running since"><span>before <time datetime="${at(0).toISOString()}">${iso(at(0))}</time></span><span class="detail">for at least 3h0m</span></td>`);
    // Wave first got generation 3 at +1h and passed at +3h; middle has not passed it yet.
    expect(card('first')).toContain(`<dt>Took</dt><dd><span class="took">2h0m</span><span class="detail">expected since <time datetime="${at(1).toISOString()}">${iso(at(1))}</time>; passed <time datetime="${at(3).toISOString()}">${iso(at(3))}</time></span></dd>`);
    expect(card('middle')).toContain('<span class="took">not passed yet, 2h0m so far</span>');
    expect(page).toContain(`From the status history: 3 records, ${iso(at(0))} to ${iso(at(3))}.`);
  });

  it('reads the history for the page without history: true, appending nothing, and skips an unreadable record with a warning', async () => {
    await writeFile(join(storeDir, 'fleet', 'status-history', '20250310T140000Z.json'), '<script>alert(1)</script>');
    const result = await run(4, 3, { html: 'status.html' });
    expect(result.exitCode).toBe(0);
    expect(await historyKeys()).toEqual(['20250310T120000Z.json', '20250310T130000Z.json', '20250310T140000Z.json', '20250310T150000Z.json']);
    expect(result.annotations).toContainEqual({ level: 'warning', message: expect.stringMatching(/^status history: skipped fleet\/status-history\/20250310T140000Z\.json: it is not a status history record: /) });
    const later = await readFile(join(workspace, 'status.html'), 'utf8');
    expect(later).toContain(`From the status history: 4 records, ${iso(at(0))} to ${iso(at(4))}.`);
    expect(later).toContain('<p class="error">1 unreadable record skipped:</p>');
    expect(later).not.toContain('<script>alert');
  });

  it('deletes the records no reader reads any more (older than 180 days) when it appends, and nothing else', async () => {
    const dir = join(storeDir, 'fleet', 'status-history');
    // 181 and 179 days before the run at +6h, and a file that is not a record.
    await writeFile(join(dir, '20240910T170000Z.json'), '{}\n');
    await writeFile(join(dir, '20240912T190000Z.json'), '{}\n');
    await writeFile(join(dir, 'README.txt'), 'notes\n');
    const result = await run(6, 3, { history: 'true' });
    expect(result.exitCode).toBe(0);
    expect(await historyKeys()).toEqual(['20240912T190000Z.json', '20250310T120000Z.json', '20250310T130000Z.json', '20250310T140000Z.json', '20250310T150000Z.json', '20250310T180000Z.json', 'README.txt']);
    expect(result.stdout).toContain('status history: deleted 1 records older than 180d');
  });

  it('refuses history: true without a cache to append to', async () => {
    const result = await run(5, 3, { history: 'true', cache: '', 'status-source': 'ssh' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "cache": is required when history is true');
  });
});
