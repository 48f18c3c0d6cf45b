import { parseInventoryText } from '../../src/fleet/inventory.js';
import { ADVANCE_MARKER } from '../../src/wave/advance.js';
import { runWave } from '../../src/wave/run.js';
import type { WaveOptions } from '../../src/wave/context.js';
import { FLEET_YAML, HOUR, NOW, openPulls, report, startWaveBed, systemPath, type WaveBed } from './wave-fixtures.js';

/** Reads fleet.yaml as it is on a branch of the emulated repository. */
async function fleetYamlOn(bed: WaveBed, ref: string): Promise<string> {
  const { data } = await bed.octokit.rest.repos.getContent({ ...bed.repo, path: 'fleet.yaml', ref });
  if (Array.isArray(data) || data.type !== 'file') throw new Error('fleet.yaml is not a file');
  return Buffer.from(data.content, 'base64').toString('utf8');
}

function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [`- ${line}`, `+ ${b[i]}`]));
}

function withInventory(options: WaveOptions, text: string): WaveOptions {
  return { ...options, inventory: { ...options.inventory, inventory: parseInventoryText(text, 'fleet.yaml'), text } };
}

describe('advance (GitHub emulator, status reports in s3rver)', () => {
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

  it('moves the next wave to the passed wave\'s channel with a one-line edit, and updates the same pull request on the next run', async () => {
    await bed.putReports([report('stage1'), report('stage2'), report('web1', { system: systemPath('web1', 1) }), report('web2', { system: systemPath('web2', 1) })]);
    const first = await runWave(bed.options({ mode: 'advance' }));
    expect(first).toMatchObject({ decision: 'advanced', advance: { from: 'first', to: 'middle', channel: 'nixos-25.05', previousChannel: 'nixos-24.11', inventoryPath: 'fleet.yaml' } });
    expect(first.waves.map((g) => [g.name, g.state])).toEqual([
      ['first', 'passed'],
      ['middle', 'waiting'],
      ['final', 'waiting'],
    ]);

    const pulls = await openPulls(bed);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ title: 'Move wave middle to nixos-25.05', head: { ref: 'fleet-advance/middle' }, base: { ref: 'main' } });
    expect(pulls[0]?.body).toContain(ADVANCE_MARKER);
    expect(pulls[0]?.body).toContain(`| web1 | \`${systemPath('web1', 1)}\` | unknown | unknown | unknown |`);
    expect(pulls[0]?.body).toContain('### Evidence: wave first');

    const edited = await fleetYamlOn(bed, 'fleet-advance/middle');
    expect(changedLines(FLEET_YAML, edited)).toEqual([
      '-   middle: { order: 2, soak: 24h, quorum: 80%, channel: nixos-24.11 }',
      '+   middle: { order: 2, soak: 24h, quorum: 80%, channel: nixos-25.05 }',
    ]);
    const { data: files } = await bed.octokit.rest.pulls.listFiles({ ...bed.repo, pull_number: pulls[0]?.number as number });
    expect(files.map((f) => [f.filename, f.additions, f.deletions])).toEqual([['fleet.yaml', 1, 1]]);
    const tip = await bed.github.branchSha('fleet-advance/middle');

    const second = await runWave(bed.options({ mode: 'advance', now: new Date(NOW.getTime() + HOUR) }));
    expect(second).toMatchObject({ decision: 'advanced', pullRequest: { number: pulls[0]?.number, operation: 'updated' } });
    expect(await openPulls(bed)).toHaveLength(1);
    expect(await bed.github.branchSha('fleet-advance/middle')).toBe(tip);
  });

  it('waits while the passed wave still soaks, without touching the repository', async () => {
    await bed.putReports([report('stage1'), report('stage2', { adoptedAt: new Date(NOW.getTime() - 10 * 60_000) })]);
    const result = await runWave(bed.options({ mode: 'advance' }));
    expect(result.decision).toBe('waiting');
    expect(result.reason).toMatch(/^wave first has not passed: 1 of 2 hosts seen pass, 2 needed/);
    expect(await bed.github.branchSha('fleet-advance/middle')).toBeUndefined();
  });

  it('is blocked by a failure in the passed wave', async () => {
    await bed.putReports([report('stage1'), report('stage2', { lastError: 'cannot reach the cache' })]);
    expect(await runWave(bed.options({ mode: 'advance' }))).toMatchObject({ decision: 'blocked', reason: 'wave first reports failures: stage2' });
  });

  it('is blocked by a hold on the wave it would move, not by a hold on another wave', async () => {
    await bed.putReports([report('stage1'), report('stage2')]);
    const held = FLEET_YAML.replace('holds: []', 'holds: [{ reason: "clinic network change window", waves: [middle] }]');
    expect(await runWave(withInventory(bed.options({ mode: 'advance' }), held))).toMatchObject({ decision: 'blocked', reason: 'held: clinic network change window' });
    const elsewhere = FLEET_YAML.replace('holds: []', 'holds: [{ reason: "clinic network change window", waves: [final] }]');
    expect((await runWave(withInventory(bed.options({ mode: 'advance' }), elsewhere))).decision).toBe('advanced');
  });

  it('walks the release wave by wave once each advance is merged', async () => {
    await bed.putReports([report('stage1'), report('stage2'), report('web1'), report('web2')]);
    const first = await runWave(bed.options({ mode: 'advance' }));
    const number = first.pullRequest?.number as number;
    const { data: pull } = await bed.octokit.rest.pulls.get({ ...bed.repo, pull_number: number });
    await bed.octokit.rest.repos.createCommitStatus({ ...bed.repo, sha: pull.head.sha, state: 'success', context: 'build' });
    await bed.octokit.rest.pulls.merge({ ...bed.repo, pull_number: number, merge_method: 'squash' });
    expect((await bed.octokit.rest.pulls.get({ ...bed.repo, pull_number: number })).data.merged).toBe(true);

    const merged = await fleetYamlOn(bed, 'main');
    const next = await runWave(withInventory(bed.options({ mode: 'advance' }), merged));
    expect(next).toMatchObject({ decision: 'advanced', advance: { from: 'middle', to: 'final', channel: 'nixos-25.05' } });
    expect(changedLines(merged, await fleetYamlOn(bed, 'fleet-advance/final'))).toEqual([
      '-   final: { order: 3, soak: 24h, quorum: 75%, channel: nixos-24.11 } # the clinics',
      '+   final: { order: 3, soak: 24h, quorum: 75%, channel: nixos-25.05 } # the clinics',
    ]);

    const done = FLEET_YAML.replace(/nixos-24\.11/g, 'nixos-25.05');
    expect(await runWave(withInventory(bed.options({ mode: 'advance' }), done))).toMatchObject({ decision: 'nothing-to-do', reason: 'every wave is on channel nixos-25.05' });
  });

  it('refuses an inventory that is not a file of the repository', async () => {
    await bed.putReports([report('stage1'), report('stage2')]);
    const options = bed.options({ mode: 'advance' });
    delete options.inventoryRepoPath;
    await expect(runWave(options)).rejects.toThrow('advance edits the inventory file');
  });
});
