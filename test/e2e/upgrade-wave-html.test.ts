import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/harness.js';
import { FLEET_YAML, NOW, report, startWaveBed, systemPath, type WaveBed } from '../integration/wave-fixtures.js';

const HOSTILE_ERROR = '</script><img src=x onerror=alert(1)>';

/** The committed bundle's status mode writing the status page (the `html` input, the `report-html` output). */
describe('action-upgrade-wave bundle: the status page', () => {
  let bed: WaveBed;
  let workspace: string;
  let outside: string;

  beforeAll(async () => {
    bed = await startWaveBed();
    await bed.putCacheInfo();
    workspace = await mkdtemp(join(tmpdir(), 'fleet-wave-html-'));
    outside = await mkdtemp(join(tmpdir(), 'fleet-wave-html-outside-'));
    await writeFile(join(workspace, 'fleet.yaml'), FLEET_YAML);
    await symlink(outside, join(workspace, 'elsewhere'));
    await bed.putReports([report('stage1', { lastError: HOSTILE_ERROR, failedUnits: ['<b>x</b>.service'] }), report('stage2'), report('web1'), report('web2')]);
  });

  afterAll(async () => {
    await bed.stop();
    await rm(workspace, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const run = (inputs: Record<string, string>) =>
    runAction('action-upgrade-wave', {
      inputs: { mode: 'status', cache: bed.s3.cacheUrl, expected: JSON.stringify(Object.fromEntries(['stage1', 'stage2', 'web1', 'web2', 'clinic-kin'].map((h) => [h, systemPath(h)]))), ...inputs },
      env: { ...bed.github.env(), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', FLEET_NOW: NOW.toISOString() },
      githubToken: bed.github.token,
      cwd: workspace,
    });

  it('writes one self-contained page with every host and gate, and names it in report-html', async () => {
    const result = await run({ html: 'reports/./status.html' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs['report-html']).toBe('reports/status.html');
    const page = await readFile(join(workspace, 'reports', 'status.html'), 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/);
    for (const host of ['stage1', 'stage2', 'web1', 'web2', 'clinic-kin']) expect(page).toContain(`data-host="${host}"`);
    for (const wave of ['first', 'middle', 'final']) expect(page).toContain(`<section class="wave" data-wave="${wave}">`);
    expect(page).toContain('>failed</span>');
    expect(page).toContain('>straggler</span>');
    // What a host reported is text on the page.
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b>x</b>');
    expect(page).toContain('&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(page).not.toMatch(/https?:\/\//);
  });

  it('writes no page and sets no report-html without the input', async () => {
    const result = await run({});
    expect(result.exitCode).toBe(0);
    expect(result.outputs['report-html']).toBeUndefined();
  });

  it.each([
    ['../status.html', 'leads outside the workspace'],
    ['/tmp/status.html', 'is absolute; give a path relative to the workspace'],
    ['-status.html', 'starts with "-"'],
    ['reports/..', 'names a folder, not a file'],
  ])('refuses html %j before reading anything', async (html, problem) => {
    const result = await run({ html });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain(`Input "html": `);
    expect(result.annotations[0]?.message).toContain(problem);
    expect(result.annotations[0]?.message).toContain('Example: html: fleet-status.html');
    expect(result.outputs.decision).toBeUndefined();
  });

  it('follows no symbolic link out of the workspace', async () => {
    for (const html of ['elsewhere/status.html', 'elsewhere/new/status.html']) {
      const result = await run({ html });
      expect(result.exitCode).toBe(1);
      expect(result.annotations[0]?.message).toContain(`${html} leads outside the workspace (through a symbolic link to ${outside}`);
    }
    await expect(readdir(outside)).resolves.toEqual([]);
  });
});
