import { Octokit } from '@octokit/rest';
import { readStatusReports, statusReportKey } from '../../src/fleet/status.js';
import { runWave } from '../../src/wave/run.js';
import { summaryMarkdown } from '../../src/wave/summary.js';
import { deploymentReports } from '../../src/wave/sources/deployments.js';
import { createGitHubClient } from '../../src/github/client.js';
import { memoryLog } from '../../src/util/log.js';
import { parseInventoryText } from '../../src/fleet/inventory.js';
import { DAY, FLEET_YAML, NOW, report, startWaveBed, systemPath, type WaveBed } from './wave-fixtures.js';

describe('status (GitHub emulator, status reports in s3rver)', () => {
  let bed: WaveBed;

  beforeAll(async () => {
    bed = await startWaveBed();
  });

  afterAll(async () => {
    try {
      bed.github.assertNoViolations();
    } finally {
      await bed.stop();
    }
  });

  it('reports every wave and host, with stragglers and unusable reports', async () => {
    await bed.putReports([
      report('stage1'),
      report('stage2'),
      report('web1', { adoptedAt: new Date(NOW.getTime() - 2 * 3_600_000) }),
      report('web2', { system: systemPath('web2', 1), needsReboot: true }),
      report('clinic-kin', { reportedAt: new Date(NOW.getTime() - 10 * DAY), adoptedAt: new Date(NOW.getTime() - 40 * DAY) }),
    ]);
    await bed.store.put(statusReportKey('ghost'), '{"format":1}', 'application/json');
    const result = await runWave(bed.options({ mode: 'status' }));
    expect(result).toMatchObject({ mode: 'status', decision: 'waiting', reason: 'waiting for middle, final' });
    expect(result.waves.map((g) => [g.name, g.state, g.passing, g.seen, g.required, g.stragglers])).toEqual([
      ['first', 'passed', 2, 2, 2, []],
      ['middle', 'waiting', 0, 2, 2, []],
      ['final', 'waiting', 0, 0, 1, ['clinic-kin']],
    ]);
    expect(result.waves[1]?.hosts.map((h) => [h.host, h.state, h.needsReboot])).toEqual([
      ['web1', 'soaking', false],
      ['web2', 'behind', true],
    ]);
    expect(result.problems).toEqual([{ key: 'fleet/status/ghost.json', host: 'ghost', message: expect.stringContaining('not a valid status report') }]);

    const markdown = summaryMarkdown(result);
    expect(markdown).toContain('```mermaid\nflowchart LR\n  w0["first<br/>passed<br/>2/2 seen pass, 2 needed<br/>channel nixos-25.05"]:::passed');
    expect(markdown).toContain('  w0 --> w1');
    expect(markdown).toContain('| web2 | `' + systemPath('web2') + '` | `' + systemPath('web2', 1) + '` |');
    expect(markdown).toContain('ok; needs reboot');
    expect(markdown).toContain('- fleet/status/ghost.json: ');
    // Reports in the JSON output are plain JSON with ISO times.
    expect(JSON.parse(JSON.stringify(result)).waves[0].hosts[0].adoptedAt).toBe('2025-03-08T12:00:00.000Z');
  });

  it('is blocked when a host reports a failure', async () => {
    await bed.putReports([report('web2', { failedUnits: ['nginx.service'] })]);
    const result = await runWave(bed.options({ mode: 'status' }));
    expect(result).toMatchObject({ decision: 'blocked', reason: 'failures reported in middle (web2)' });
  });

  it('shows hosts in no wave and what hosts still fetch, without letting either gate anything', async () => {
    const fleetYaml = FLEET_YAML.replace('hosts:\n', 'hosts:\n  builder: { environment: production }\n  lab: { environment: staging }\n');
    const inventory = parseInventoryText(fleetYaml, 'fleet.yaml');
    const download = { system: systemPath('web2'), paths: 31, bytes: 412 * 1024 * 1024, totalPaths: 1204, totalBytes: 1300 * 1024 * 1024, measuredAt: new Date(NOW.getTime() - 10 * 60_000) };
    await bed.putReports([
      report('stage1'),
      report('stage2'),
      report('web1'),
      report('web2', { system: systemPath('web2', 1), desired: systemPath('web2'), download }),
      report('clinic-kin'),
      report('builder', { failedUnits: ['hydra.service'] }),
      report('lab', { system: systemPath('lab', 1) }),
    ]);
    const result = await runWave(bed.options({ mode: 'status', inventory: { inventory, file: '/work/fleet.yaml', text: fleetYaml } }));
    // The failed builder is in no wave: it blocks nothing.
    expect(result).toMatchObject({ decision: 'waiting', reason: 'waiting for middle' });
    expect(result.waves.flatMap((g) => g.hosts.map((h) => h.host))).not.toContain('builder');
    expect(result.outsideWaves?.map((h) => [h.host, h.state, h.wave])).toEqual([
      ['builder', 'failed', undefined],
      ['lab', 'behind', undefined],
    ]);
    expect(result.waves[1]?.hosts[1]).toMatchObject({ host: 'web2', state: 'behind', download, detail: 'fetching the new system: 412 MiB of 1.3 GiB (31 of 1204 paths) left at 2025-03-10T11:50:00Z' });
    const markdown = summaryMarkdown(result);
    expect(markdown).toContain('### Hosts in no wave');
    expect(markdown).toContain('| builder | `' + systemPath('builder') + '`');
    expect(markdown).toContain('fetching the new system: 412 MiB of 1.3 GiB');
    // A record of an older system being fetched says nothing about the expected one.
    await bed.putReports([report('web2', { system: systemPath('web2', 1), download: { ...download, system: systemPath('web2', 0) } })]);
    const older = await runWave(bed.options({ mode: 'status', inventory: { inventory, file: '/work/fleet.yaml', text: fleetYaml } }));
    expect(older.waves[1]?.hosts[1]).toMatchObject({ state: 'behind', detail: 'runs another system' });
    expect(older.waves[1]?.hosts[1]?.download).toBeUndefined();
    await bed.putReports([report('web2')]);
  });

  it('reads GitHub deployments as a status source', async () => {
    const octokit = new Octokit(bed.github.octokitOptions);
    const deploy = async (hosts: Record<string, string>, state: 'success' | 'failure', description?: string) => {
      const { data } = await octokit.rest.repos.createDeployment({ ...bed.repo, ref: 'main', environment: 'production', payload: { hosts }, required_contexts: [], auto_merge: false });
      if (!('id' in data)) throw new Error('deployment not created');
      await octokit.rest.repos.createDeploymentStatus({ ...bed.repo, deployment_id: data.id, state, ...(description ? { description } : {}) });
    };
    await deploy({ web1: systemPath('web1', 1), web2: systemPath('web2', 1) }, 'success');
    await deploy({ web1: systemPath('web1', 2) }, 'success');
    await deploy({ 'clinic-kin': systemPath('clinic-kin', 2) }, 'failure', 'clinic-kin: switch failed');
    const client = createGitHubClient({ token: bed.github.token, baseUrl: bed.github.apiUrl, log: memoryLog() });
    const hosts = [
      { name: 'web1', environment: 'production' },
      { name: 'web2', environment: 'production' },
      { name: 'clinic-kin', environment: 'production' },
      { name: 'stage1', environment: 'staging' },
    ];
    const { reports, problems } = await deploymentReports(client, bed.repo, hosts, { clock: { now: () => NOW } });
    expect(reports.get('web1')).toMatchObject({ system: systemPath('web1', 2), lastError: null, reportedAt: NOW });
    expect(reports.get('web2')).toMatchObject({ system: systemPath('web2', 1), lastError: null });
    expect(reports.get('clinic-kin')).toMatchObject({ lastError: expect.stringMatching(/^deployment \d+ failed: clinic-kin: switch failed$/) });
    expect(reports.has('stage1')).toBe(false);
    expect(problems).toEqual([{ key: 'clinic-kin', message: expect.stringContaining('no successful deployment') }]);
  });

  it('keeps reading when the store has a broken report next to good ones', async () => {
    await bed.store.put(statusReportKey('web1'), '{ not json', 'application/json');
    const { reports, problems } = await readStatusReports(bed.store);
    expect(reports.has('web1')).toBe(false);
    expect(reports.has('web2')).toBe(true);
    expect(problems.map((p) => p.key)).toContain('fleet/status/web1.json');
  });
});
