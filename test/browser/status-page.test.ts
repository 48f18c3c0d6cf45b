import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { renderStatusPage } from '../../src/status-page/index.js';
import { openOffline, type OfflinePage } from '../support/browser.js';
import { repoRoot } from '../support/harness.js';
import { HOSTILE_ERROR, statusFleet } from '../unit/status-page/fixtures.js';


/** The status page in Debian's headless Chromium, opened from a file with the network cut off. */
describe('status page in a browser', () => {
  const { input } = statusFleet(120);
  let dir: string;
  let url: string;
  let opened: OfflinePage;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-status-page-'));
    const file = join(dir, 'status.html');
    await writeFile(file, renderStatusPage(input));
    url = pathToFileURL(file).href;
    opened = await openOffline(url);
    page = opened.page;
  });

  afterAll(async () => {
    await opened?.browser.close();
    await rm(dir, { recursive: true, force: true });
  });

  const visibleRows = () => page.locator('#hosts-body tr:visible').count();
  const visibleStates = () => page.locator('#hosts-body tr:visible').evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-state')))]);

  it('asks for nothing but its own file, and its script runs without error', async () => {
    expect(opened.requests).toEqual([url]);
    expect(opened.errors).toEqual([]);
    await expect(page.locator('#shown-count').textContent()).resolves.toBe('120 of 120 hosts shown');
  });

  it('shows a row for every host', async () => {
    expect(await visibleRows()).toBe(120);
    const shown = await page.locator('#hosts-body tr td[data-label="Host"]').allTextContents();
    expect(shown.sort()).toEqual(input.hosts.map((h) => h.host).sort());
  });

  it('filters by wave, then by state, and back', async () => {
    await page.selectOption('select[data-filter="wave"]', 'middle');
    expect(await visibleRows()).toBe(input.hosts.filter((h) => h.wave === 'middle').length);
    await page.selectOption('select[data-filter="state"]', 'behind');
    const expected = input.hosts.filter((h) => h.wave === 'middle' && h.state === 'behind').length;
    expect(expected).toBeGreaterThan(0);
    expect(await visibleRows()).toBe(expected);
    expect(await visibleStates()).toEqual(['behind']);
    await expect(page.locator('#shown-count').textContent()).resolves.toBe(`${expected} of 120 hosts shown`);
    await page.selectOption('select[data-filter="wave"]', '');
    expect(await visibleRows()).toBe(input.hosts.filter((h) => h.state === 'behind').length);
    await page.selectOption('select[data-filter="state"]', '');
    await page.selectOption('select[data-filter="environment"]', 'production');
    expect(await visibleRows()).toBe(input.hosts.filter((h) => h.environment === 'production').length);
    await page.selectOption('select[data-filter="environment"]', '');
    await page.selectOption('select[data-filter="tag"]', 'clinic');
    expect(await visibleRows()).toBe(input.hosts.filter((h) => h.tags.includes('clinic')).length);
    await page.selectOption('select[data-filter="tag"]', '');
    expect(await visibleRows()).toBe(120);
    await page.selectOption('select[data-filter="wave"]', '(none)');
    const outside = await page.locator('#hosts-body tr:visible').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host')));
    expect(outside).toEqual(input.hosts.filter((h) => !h.wave).map((h) => h.host));
    expect(outside.length).toBeGreaterThan(0);
    await page.selectOption('select[data-filter="wave"]', '');
  });

  it('sorts the hosts that are fetching by what they still have to download', async () => {
    await page.locator('th[data-sort="download"] button').click();
    const fetching = input.hosts.filter((h) => h.download).sort((a, b) => (a.download?.bytes ?? 0) - (b.download?.bytes ?? 0));
    const first = await page.locator('#hosts-body tr').evaluateAll((rows, n) => rows.slice(0, n).map((r) => r.getAttribute('data-host')), fetching.length);
    expect(first).toEqual(fetching.map((h) => h.host));
    const bars = await page.locator('#hosts-body tr:visible progress').evaluateAll((els) => els.map((e) => (e as unknown as { position: number }).position));
    expect(bars).toHaveLength(fetching.length);
    for (const bar of bars) expect(bar).toBeGreaterThan(0);
  });

  it('sorts by a column when its header is clicked, and reverses on a second click', async () => {
    const seen = () => page.locator('#hosts-body tr td[data-label="Last seen"] time').evaluateAll((cells) => cells.map((c) => c.getAttribute('datetime') as string));
    const header = page.locator('th[data-sort="reportedAt"] button');
    await header.click();
    const ascending = await seen();
    expect(ascending).toHaveLength(120);
    expect(ascending).toEqual([...ascending].sort());
    await expect(page.locator('th[data-sort="reportedAt"]').getAttribute('aria-sort')).resolves.toBe('ascending');
    await header.click();
    const descending = await seen();
    expect(descending).toEqual([...ascending].sort().reverse());
    await page.locator('th[data-sort="host"] button').click();
    const hosts = await page.locator('#hosts-body tr td[data-label="Host"]').allTextContents();
    expect(hosts).toEqual(input.hosts.map((h) => h.host).sort());
  });

  it('shows the hostile last error as literal text: no element made of it, no script run', async () => {
    const cell = page.locator('#hosts-body tr[data-host="host002"] td[data-label="Last error"]');
    await expect(cell.textContent()).resolves.toBe(HOSTILE_ERROR);
    expect(await cell.textContent()).toContain('<img');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#hosts-body tr[data-host="host002"] td[data-label="Failed units"] b').count()).toBe(0);
    expect(opened.dialogs).toEqual([]);
  });

  it('reads as cards on a phone, and leaves a screenshot', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const card = page.locator('#hosts-body tr').first();
    const box = await card.boundingBox();
    expect(box?.width).toBeLessThanOrEqual(390);
    await expect(card.locator('td[data-label="State"]').evaluate((td) => td.ownerDocument.defaultView?.getComputedStyle(td, '::before').content)).resolves.toBe('"State"');
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.evaluate('window.scrollTo(0, 0)');
    await mkdir(join(repoRoot, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-artifacts', 'status-page.png'), fullPage: false });
  });
});
