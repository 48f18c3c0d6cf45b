import { runWave } from '../../src/wave/run.js';
import { PROMOTION_MARKER } from '../../src/wave/promote.js';
import { DAY, HOUR, NOW, openPulls, report, startWaveBed, systemPath, type WaveBed } from './wave-fixtures.js';

describe('promote (GitHub emulator, status reports in s3rver)', () => {
  let bed: WaveBed;

  beforeEach(async () => {
    bed = await startWaveBed();
  });

  afterEach(async () => {
    try {
      bed.github.assertNoViolations();
    } finally {
      await bed.stop();
    }
  });

  it('opens the promotion pull request with the evidence when the staging gate passes, and updates it on the next run', async () => {
    await bed.putReports([report('stage1'), report('stage2', { adoptedAt: new Date(NOW.getTime() - 3 * HOUR) })]);
    const first = await runWave(bed.options());
    expect(first).toMatchObject({ decision: 'promoted', pullRequest: { operation: 'created' } });
    expect(first.promotion).toMatchObject({ source: 'staging', target: 'main', aheadBy: 1, candidate: await bed.github.branchSha('staging') });
    expect(first.promotion?.gate).toMatchObject({ name: 'staging', passed: true, passing: 2, seen: 2, soakMs: HOUR });

    const pulls = await openPulls(bed);
    expect(pulls).toHaveLength(1);
    const pull = pulls[0];
    expect(pull).toMatchObject({ number: first.pullRequest?.number, title: 'Promote staging to main', head: { ref: 'staging' }, base: { ref: 'main' } });
    const body = pull?.body ?? '';
    expect(body).toContain(PROMOTION_MARKER);
    expect(body).toContain('| Host | Expected path | Running path | Adopted at | Soak | Health | State |');
    expect(body).toContain(`| stage2 | \`${systemPath('stage2')}\` | \`${systemPath('stage2')}\` | 2025-03-10T09:00:00Z | 3h0m / 1h0m | ok | ✅ passing |`);

    // A second run with newer evidence updates the same pull request.
    const later = await runWave(bed.options({ now: new Date(NOW.getTime() + HOUR) }));
    expect(later).toMatchObject({ decision: 'promoted', pullRequest: { number: first.pullRequest?.number, operation: 'updated' } });
    const again = await openPulls(bed);
    expect(again).toHaveLength(1);
    expect(again[0]?.body).toContain('4h0m / 1h0m');
  });

  it('waits for the soak, then promotes once the clock has moved', async () => {
    await bed.putReports([report('stage1'), report('stage2', { adoptedAt: new Date(NOW.getTime() - 20 * 60_000) })]);
    const waiting = await runWave(bed.options());
    expect(waiting.decision).toBe('waiting');
    expect(waiting.reason).toContain('1 of 2 hosts seen pass, 2 needed');
    expect(waiting.reason).toContain('earliest pass at 2025-03-10T12:40:00Z');
    expect(waiting.pullRequest).toBeUndefined();
    expect(await openPulls(bed)).toHaveLength(0);

    const promoted = await runWave(bed.options({ now: new Date(NOW.getTime() + 45 * 60_000) }));
    expect(promoted.decision).toBe('promoted');
    expect(await openPulls(bed)).toHaveLength(1);
  });

  it('is blocked by a failure, and turns auto-merge off on an open promotion', async () => {
    await bed.putReports([report('stage1'), report('stage2')]);
    const promoted = await runWave(bed.options({ autoMerge: 'merge' }));
    expect(promoted.warnings).toEqual([]);
    expect(promoted.pullRequest).toMatchObject({ operation: 'created', autoMerge: 'enabled' });
    expect((await openPulls(bed))[0]?.auto_merge).not.toBeNull();

    await bed.putReports([report('stage2', { failedUnits: ['postgresql.service'], lastError: 'health check failed; rolled back' })]);
    const blocked = await runWave(bed.options({ autoMerge: 'merge' }));
    expect(blocked.decision).toBe('blocked');
    expect(blocked.reason).toBe('staging hosts report failures: stage2');
    expect(blocked.promotion?.gate?.reasons).toEqual([
      'stage2 reports a failure: failed units: postgresql.service; last error: health check failed; rolled back',
      '1 of 2 hosts seen pass, 2 needed (quorum 100%)',
    ]);
    expect(blocked.pullRequest).toMatchObject({ number: promoted.pullRequest?.number, autoMerge: 'disabled' });
    const [pull] = await openPulls(bed);
    expect(pull?.auto_merge).toBeNull();
    expect(pull?.body).toContain('**Blocked: staging hosts report failures: stage2.**');
  });

  it('is blocked by an open issue with the hold label, and by a hold in the inventory', async () => {
    await bed.putReports([report('stage1'), report('stage2')]);
    const { data: issue } = await bed.octokit.rest.issues.create({ ...bed.repo, title: 'Clinic network change window', labels: ['fleet-hold'] });
    const held = await runWave(bed.options());
    expect(held.decision).toBe('blocked');
    expect(held.reason).toBe('held: issue "Clinic network change window" has the label fleet-hold');
    expect(held.holds).toEqual([expect.objectContaining({ source: 'label', number: issue.number })]);
    expect(await openPulls(bed)).toHaveLength(0);

    await bed.octokit.rest.issues.update({ ...bed.repo, issue_number: issue.number, state: 'closed' });
    const base = bed.options();
    const inventory = { ...base.inventory.inventory, holds: [{ reason: 'end of year freeze' }] };
    const frozen = await runWave({ ...base, inventory: { ...base.inventory, inventory } });
    expect(frozen).toMatchObject({ decision: 'blocked', reason: 'held: end of year freeze' });

    expect((await runWave(bed.options())).decision).toBe('promoted');
  });

  it('lists offline hosts as stragglers, not blocking and not counted', async () => {
    const base = bed.options();
    const inventory = structuredClone(base.inventory.inventory);
    inventory.hosts.stage3 = { ...(inventory.hosts.stage1 as NonNullable<typeof inventory.hosts.stage1>), name: 'stage3', attribute: 'stage3' };
    await bed.putReports([
      report('stage1'),
      report('stage2'),
      report('stage3', { reportedAt: new Date(NOW.getTime() - 9 * DAY), adoptedAt: new Date(NOW.getTime() - 30 * DAY), system: systemPath('stage3', 1), failedUnits: ['old.service'] }),
    ]);
    const result = await runWave({ ...base, inventory: { ...base.inventory, inventory } });
    expect(result.decision).toBe('promoted');
    expect(result.promotion?.gate).toMatchObject({ seen: 2, passing: 2, required: 2, stragglers: ['stage3'], failures: [] });
    const [pull] = await openPulls(bed);
    expect(pull?.body).toContain('Stragglers (not seen recently; not blocking, not counted): stage3');
    expect(pull?.body).toContain('📴 straggler: last seen 9d0h ago');
  });

  it('fails closed: a staging host whose report cannot be read blocks the promotion and says why', async () => {
    await bed.putReports([report('stage1')]);
    await bed.putRaw('fleet/status/stage2.json', '{"format": 1, "host": "stage2", "system": "/nix/st');
    const result = await runWave(bed.options());
    expect(result.decision).toBe('blocked');
    expect(result.reason).toMatch(/^staging hosts cannot be judged: stage2 \(status unreadable: .*not valid JSON/);
    expect(result.promotion?.gate).toMatchObject({ passed: false, unreadable: ['stage2'], stragglers: [] });
    const [pull] = await openPulls(bed);
    expect(pull?.body ?? '').not.toContain('The staging hosts run the candidate and the gate passes');
  });

  it('waits with the stragglers named when too few hosts are seen', async () => {
    await bed.putReports([report('stage1', { reportedAt: new Date(NOW.getTime() - 8 * DAY), adoptedAt: new Date(NOW.getTime() - 9 * DAY) })]);
    const result = await runWave(bed.options());
    expect(result.decision).toBe('waiting');
    expect(result.reason).toContain('stragglers: stage1, stage2');
  });

  it('has nothing to do when staging is not ahead of main', async () => {
    await bed.stop();
    bed = await startWaveBed({ stagingAhead: false });
    await bed.putReports([report('stage1'), report('stage2')]);
    expect(await runWave(bed.options())).toMatchObject({ decision: 'nothing-to-do', reason: 'staging has no commits that main lacks' });
  });

  it('aborts: opens a held revert pull request for the last promotion', async () => {
    await bed.putReports([report('stage1'), report('stage2')]);
    const promoted = await runWave(bed.options({ autoMerge: 'merge' }));
    const number = promoted.pullRequest?.number as number;
    const mainBefore = await bed.github.branchSha('main');
    // The required check passes on the candidate and GitHub merges the promotion by itself.
    await bed.octokit.rest.repos.createCommitStatus({ ...bed.repo, sha: (await bed.github.branchSha('staging')) as string, state: 'success', context: 'build' });
    await bed.github.runAutoMerges();
    const { data: merged } = await bed.octokit.rest.pulls.get({ ...bed.repo, pull_number: number });
    expect(merged.merged).toBe(true);
    // Something else lands on main after the promotion.
    await bed.github.seed({ 'docs/runbook.md': '# runbook\n' }, { branch: 'main', message: 'runbook' });

    const aborted = await runWave(bed.options({ abort: true }));
    expect(aborted).toMatchObject({ mode: 'abort', decision: 'reverted', revert: { pullRequest: number, mergeCommit: merged.merge_commit_sha } });
    const revert = (await openPulls(bed)).find((p) => p.head.ref === `fleet-revert/promotion-${number}`);
    expect(revert).toMatchObject({ base: { ref: 'main' }, title: `Revert promotion #${number} (staging → main)` });
    expect(revert?.labels.map((l) => l.name)).toEqual(['fleet-hold']);

    // The revert's tree: main without the promoted file, with the later runbook.
    const { data: commit } = await bed.octokit.rest.git.getCommit({ ...bed.repo, commit_sha: revert?.head.sha as string });
    const { data: tree } = await bed.octokit.rest.git.getTree({ ...bed.repo, tree_sha: commit.tree.sha, recursive: 'true' });
    const paths = tree.tree.filter((e) => e.type === 'blob').map((e) => e.path).sort();
    expect(paths).toEqual(['docs/runbook.md', 'flake.nix', 'fleet.yaml']);
    expect(commit.parents.map((p) => p.sha)).toEqual([await bed.github.branchSha('main')]);
    expect(mainBefore).not.toBe(await bed.github.branchSha('main'));

    // The open revert holds promotions; a second abort keeps the same pull request.
    await bed.github.seed({ 'hosts/db.nix': '{ }\n' }, { branch: 'staging', message: 'db' });
    expect((await runWave(bed.options())).decision).toBe('blocked');
    const again = await runWave(bed.options({ abort: true }));
    expect(again.pullRequest).toMatchObject({ number: revert?.number });
    expect((await openPulls(bed)).filter((p) => p.head.ref.startsWith('fleet-revert/'))).toHaveLength(1);
  });

  it('has nothing to abort before any promotion', async () => {
    expect(await runWave(bed.options({ abort: true }))).toMatchObject({ decision: 'nothing-to-do', reason: 'no merged promotion from staging into main to revert' });
  });

  it('passes GitHub failures on', async () => {
    await bed.putReports([report('stage1'), report('stage2')]);
    bed.github.failNext('POST', '/repos/{owner}/{repo}/pulls', 403, { message: 'GitHub Actions is not permitted to create or approve pull requests.' });
    await expect(runWave(bed.options())).rejects.toThrow(/Allow GitHub Actions to create and approve pull requests/);
  });
});
