import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps dialling Google's hosts, which a closed network refuses. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface OfflinePage {
  browser: Browser;
  page: Page;
  /** Every request the page made (only its own file reaches anything). */
  requests: string[];
  /** Messages of dialogs it opened (each dismissed). */
  dialogs: string[];
  /** Uncaught errors and console errors (a Content-Security-Policy refusal is one). */
  errors: string[];
}

/** Opens `url` (a file:// URL) in Debian's headless Chromium with every other request aborted. */
export async function openOffline(url: string, viewport = { width: 1400, height: 900 }): Promise<OfflinePage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install chromium; .ci/setup does)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const opened: OfflinePage = { browser, page: await browser.newPage({ viewport }), requests: [], dialogs: [], errors: [] };
  const { page } = opened;
  await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  page.on('request', (request) => opened.requests.push(request.url()));
  page.on('dialog', (dialog) => {
    opened.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => opened.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') opened.errors.push(message.text());
  });
  await page.goto(url);
  return opened;
}
