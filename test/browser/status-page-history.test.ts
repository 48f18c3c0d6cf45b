import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { renderStatusPage, statusPageInput } from '../../src/status-page/index.js';
import type { StatusHistory } from '../../src/wave/history.js';
import { openOffline, type OfflinePage } from '../support/browser.js';
import { repoRoot } from '../support/harness.js';
import { NOW, statusFleet } from '../unit/status-page/fixtures.js';

const HOUR = 3_600_000;

/** The status page with a status history, in headless Chromium: the "Running since" column and the waves' "Took". */
describe('status page with history in a browser', () => {
  const { report, inventory } = statusFleet(120);
  // Every third host without a known time; the others since 1 to 40 hours ago, the oldest "before".
  const hosts = new Map(
    report.waves
      .flatMap((w) => w.hosts)
      .filter((_, i) => i % 3 !== 0)
      .map((h, i) => [h.host, { since: new Date(NOW.getTime() - ((i * 7) % 40 + 1) * HOUR), before: (i * 7) % 40 === 39 }]),
  );
  const history: StatusHistory = {
    records: 40,
    oldest: new Date(NOW.getTime() - 40 * HOUR),
    newest: NOW,
    hosts,
    waves: new Map([
      ['first', { since: new Date(NOW.getTime() - 20 * HOUR), before: false, passedAt: new Date(NOW.getTime() - 8 * HOUR), ms: 12 * HOUR }],
      ['middle', { since: new Date(NOW.getTime() - 20 * HOUR), before: false, ms: 20 * HOUR }],
    ]),
    problems: [{ key: 'fleet/status-history/20250310T110000Z.json', message: '<img src=x onerror=alert(3)>' }],
  };
  let dir: string;
  let opened: OfflinePage;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-status-history-'));
    const file = join(dir, 'status.html');
    await writeFile(file, renderStatusPage(statusPageInput(report, inventory, history)));
    opened = await openOffline(pathToFileURL(file).href);
    page = opened.page;
  });

  afterAll(async () => {
    await opened?.browser.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs its script without error and asks for nothing else', async () => {
    expect(opened.requests).toHaveLength(1);
    expect(opened.errors).toEqual([]);
    await expect(page.locator('#shown-count').textContent()).resolves.toBe('120 of 120 hosts shown');
  });

  it('sorts by "Running since", hosts without a time last', async () => {
    await page.locator('th[data-sort="runningSince"] button').click();
    const cells = await page.locator('#hosts-body tr td[data-label="Running since"]').evaluateAll((tds) => tds.map((td) => td.querySelector('time')?.getAttribute('datetime') ?? null));
    const times = cells.filter((c): c is string => c !== null);
    expect(times).toHaveLength(hosts.size);
    expect(times).toEqual([...times].sort());
    expect(cells.slice(times.length).every((c) => c === null)).toBe(true);
  });

  it('shows the waves\' durations and the skipped record as text', async () => {
    await expect(page.locator('section[data-wave="first"] .took').textContent()).resolves.toBe('12h0m');
    await expect(page.locator('section[data-wave="middle"] .took').textContent()).resolves.toBe('not passed yet, 20h0m so far');
    await expect(page.locator('#history li').textContent()).resolves.toContain('<img src=x onerror=alert(3)>');
    expect(await page.locator('img').count()).toBe(0);
  });

  it('reads as cards on a phone, the time under its label, and leaves a screenshot', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const cell = page.locator('#hosts-body tr td[data-label="Running since"]').first();
    const box = await page.locator('#hosts-body tr').first().boundingBox();
    expect(box?.width).toBeLessThanOrEqual(390);
    await expect(cell.evaluate((td) => td.ownerDocument.defaultView?.getComputedStyle(td, '::before').content)).resolves.toBe('"Running since"');
    await mkdir(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.locator('#history').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(repoRoot, 'test-artifacts', 'status-page-history.png'), fullPage: false });
  });
});
