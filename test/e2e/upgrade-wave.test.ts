import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/harness.js';
import { FLEET_YAML, HOUR, NOW, openPulls, report, startWaveBed, systemPath, type WaveBed } from '../integration/wave-fixtures.js';

/** The committed bundle, run the way the runner runs it, against the GitHub emulator and s3rver. */
describe('action-upgrade-wave bundle', () => {
  let bed: WaveBed;
  let workspace: string;

  beforeAll(async () => {
    bed = await startWaveBed();
    await bed.putCacheInfo();
    workspace = await mkdtemp(join(tmpdir(), 'fleet-wave-workspace-'));
    await writeFile(join(workspace, 'fleet.yaml'), FLEET_YAML);
  });

  afterAll(async () => {
    try {
      bed.github.assertNoViolations();
    } finally {
      await bed.stop();
      await rm(workspace, { recursive: true, force: true });
    }
  });

  const run = (inputs: Record<string, string>, now: Date) =>
    runAction('action-upgrade-wave', {
      inputs: { cache: bed.s3.cacheUrl, expected: JSON.stringify(Object.fromEntries(['stage1', 'stage2', 'web1', 'web2', 'clinic-kin'].map((h) => [h, systemPath(h)]))), ...inputs },
      // s3rver's fixed account stands in for the role's credentials; FLEET_NOW moves the clock.
      env: { ...bed.github.env(), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', FLEET_NOW: now.toISOString() },
      githubToken: bed.github.token,
      cwd: workspace,
    });

  it('reports the waves, waits for the soak, then opens the promotion pull request', async () => {
    await bed.putReports([report('stage1'), report('stage2', { adoptedAt: new Date(NOW.getTime() - 30 * 60_000) }), report('web1'), report('web2')]);

    const status = await run({ mode: 'status' }, NOW);
    expect(status.stderr).toBe('');
    expect(status.exitCode).toBe(0);
    expect(status.outputs.decision).toBe('waiting');
    const statusReport = JSON.parse(status.outputs.report as string);
    expect(statusReport.waves.map((w: { name: string; state: string }) => `${w.name}:${w.state}`)).toEqual(['first:waiting', 'middle:passed', 'final:waiting']);
    expect(statusReport.waves[2].stragglers).toEqual(['clinic-kin']);
    expect(status.summary).toContain('```mermaid');
    expect(status.outputs['pull-request-number']).toBeUndefined();

    const waiting = await run({ mode: 'promote' }, NOW);
    expect(waiting.exitCode).toBe(0);
    expect(waiting.outputs.decision).toBe('waiting');
    expect(waiting.stdout).toContain('waiting: 1 of 2 hosts seen pass, 2 needed (quorum 100%); earliest pass at 2025-03-10T12:30:00Z');

    const promoted = await run({ mode: 'promote', 'auto-merge': 'squash' }, new Date(NOW.getTime() + HOUR));
    expect(promoted.exitCode).toBe(0);
    expect(promoted.outputs.decision).toBe('promoted');
    const number = Number(promoted.outputs['pull-request-number']);
    const pulls = await openPulls(bed);
    expect(pulls.map((p) => p.number)).toEqual([number]);
    expect(pulls[0]?.auto_merge).toMatchObject({ merge_method: 'squash' });
    expect(JSON.parse(promoted.outputs.report as string)).toMatchObject({ mode: 'promote', decision: 'promoted', promotion: { source: 'staging', target: 'main', aheadBy: 1 }, pullRequest: { number, operation: 'created' } });
    expect(promoted.summary).toContain(`Pull request [#${number}]`);
    // The token is masked, and shows up nowhere else in what the step wrote.
    expect(promoted.stdout).toContain(`::add-mask::${bed.github.token}`);
    const written = [promoted.stdout.replace(/^::add-mask::.*$/gm, ''), promoted.stderr, promoted.summary, JSON.stringify(promoted.outputs)];
    for (const text of written) expect(text).not.toContain(bed.github.token);
  });

  it("shows a host's lastError and failed units as text in the summary, and obeys no command in them", async () => {
    const lastError = '![x](https://evil/x.png) [click](https://evil) <img src=https://evil/y.png> | cell\n::add-mask::stage1\n::error::owned by a report';
    await bed.putReports([report('stage1', { lastError, failedUnits: ['<b>[u](https://evil)</b>.service'] }), report('stage2'), report('web1'), report('web2')]);
    const status = await run({ mode: 'status' }, new Date(NOW.getTime() + 2 * HOUR));
    expect(status.exitCode).toBe(0);
    expect(status.summary).not.toMatch(/!\[x\]\(|\[click\]\(|\[u\]\(|<img|<b>/);
    expect(status.summary).toContain('!\\[x\\](https://evil/x.png) \\[click\\](https://evil) &lt;img src=https://evil/y.png&gt; \\| cell ::add-mask::stage1 ::error::owned by a report');
    expect(status.summary).toContain('&lt;b&gt;\\[u\\](https://evil)&lt;/b&gt;.service');
    expect(status.masks).not.toContain('stage1');
    expect(status.annotations.map((a) => a.message)).not.toContainEqual(expect.stringMatching(/^owned/));
  });

  it('fails with a message naming the input when the cache is missing', async () => {
    const result = await runAction('action-upgrade-wave', { inputs: { mode: 'status' }, env: bed.github.env(), githubToken: bed.github.token, cwd: workspace });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "cache": is required when status-source is cache');
  });

  it('fails, and says why, on a cache location that holds no binary cache, instead of waiting for ever', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fleet-wave-empty-'));
    try {
      const result = await run({ mode: 'status', cache: `file://${empty}/typo` }, NOW);
      expect(result.exitCode).toBe(1);
      expect(result.annotations[0]?.message).toMatch(new RegExp(`file://${empty}/typo has no nix-cache-info: it is not a binary cache fleet pushed to; check the cache input`));
      expect(result.outputs.decision).toBeUndefined();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('refuses an expected system for a host the inventory does not have', async () => {
    const result = await run({ mode: 'status', expected: '{"web9":"/nix/store/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv-x"}' }, NOW);
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "expected": "web9" is not a host of the inventory');
  });
});
