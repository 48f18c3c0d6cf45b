import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { DAY, FLEET_YAML, HOUR, NOW, openPulls, report, startWaveBed, systemPath, type WaveBed } from '../integration/wave-fixtures.js';

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

/**
 * Soak counted from what the store saw, through both bundles on real time: action-deploy publishes a
 * pull host's manifest into s3rver, the hosts report into it, action-upgrade-wave judges the soak.
 */
describe('action-upgrade-wave bundle: soak the hosts cannot lengthen', () => {
  let bed: WaveBed;
  let workspace: string;
  const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

  beforeAll(async () => {
    bed = await startWaveBed();
    await bed.putCacheInfo();
    workspace = await mkdtemp(join(tmpdir(), 'fleet-wave-soak-'));
    await writeFile(join(workspace, 'fleet.yaml'), FLEET_YAML);
  });
  afterAll(async () => {
    await bed.stop();
    await rm(workspace, { recursive: true, force: true });
  });

  it("counts from the manifest's issue and from the store's date of a report, not from the host's clock", async () => {
    const deployed = await runAction('action-deploy', {
      inputs: {
        inventory: join(workspace, 'fleet.yaml'),
        environment: 'production',
        hosts: 'clinic-kin',
        'store-paths': JSON.stringify({ 'clinic-kin': systemPath('clinic-kin') }),
        deployment: 'false',
        'manifest-store': bed.s3.cacheUrl,
        'manifest-signing-key': nixKeyPair('fleet-manifest-1').secret,
      },
      env: credentials,
      cwd: workspace,
    });
    expect(deployed.exitCode).toBe(0);

    const now = new Date();
    const ago = (ms: number) => new Date(now.getTime() - ms);
    await bed.putReports([
      // Each claims three days on the new system. clinic-kin's manifest was issued a moment ago;
      // web1's clock is a day behind (the store receives its report now, it dates it yesterday).
      report('clinic-kin', { reportedAt: ago(60_000), adoptedAt: ago(3 * DAY) }),
      report('web1', { reportedAt: ago(DAY), adoptedAt: ago(3 * DAY) }),
      report('web2', { reportedAt: ago(60_000), adoptedAt: ago(3 * DAY) }),
    ]);
    const status = await runAction('action-upgrade-wave', {
      inputs: { mode: 'status', cache: bed.s3.cacheUrl, 'offline-after': '12h', expected: JSON.stringify(Object.fromEntries(['web1', 'web2', 'clinic-kin'].map((h) => [h, systemPath(h)]))) },
      env: { ...bed.github.env(), ...credentials },
      githubToken: bed.github.token,
      cwd: workspace,
    });
    expect(status.exitCode).toBe(0);
    const waves = (JSON.parse(status.outputs.report as string) as { waves: { name: string; state: string; hosts: { host: string; state: string; soakedMs?: number; soakNote?: string }[] }[] }).waves;
    const host = (name: string) => waves.flatMap((w) => w.hosts).find((h) => h.host === name);
    expect(host('clinic-kin')).toMatchObject({ state: 'soaking', soakNote: expect.stringMatching(/^the manifest asking for it was issued .*, after the reported adoption/) });
    expect(host('clinic-kin')?.soakedMs).toBeLessThan(HOUR);
    // web1: two days by the store's clock, seen now (not a straggler at offline-after 12h)
    expect(host('web1')).toMatchObject({ state: 'passing', soakNote: expect.stringMatching(/^the host's clock was 2\dh\d+m behind when its report was received$/) });
    expect(host('web1')?.soakedMs).toBeLessThan(2 * DAY + HOUR);
    expect(host('web2')).toMatchObject({ state: 'passing', soakedMs: expect.any(Number) });
    expect(host('web2')?.soakNote).toBeUndefined();
    expect(waves.map((w) => `${w.name}:${w.state}`)).toEqual(['first:waiting', 'middle:passed', 'final:waiting']);
    expect(status.summary).toContain('soak counted from');
  });
});
