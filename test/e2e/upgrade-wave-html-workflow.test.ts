/**
 * upgrade-wave.yml with `html`, called as a caller would: the reusable workflow runs the committed
 * bundle in status mode, which writes the page, and uploads it as the artifact `fleet-status`
 * (actions/upload-artifact's stand-in); a later job of the caller downloads it and counts its hosts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderStatusReport, statusReportKey } from '../../src/fleet/status.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { OFFLINE_NIX_CONFIG } from '../support/nix.js';
import { pushEvent, runWorkflow } from '../support/workflows/index.js';
import { FLEET_YAML, report, systemPath } from '../integration/wave-fixtures.js';

const HOSTS = ['stage1', 'stage2', 'web1', 'web2', 'clinic-kin'];

const CALLER = (cache: string) => `
on: push
jobs:
  status:
    uses: fleet-nix/fleet/.github/workflows/upgrade-wave.yml@v1
    permissions: { contents: write, pull-requests: write, issues: read, id-token: write }
    with:
      mode: status
      cache: ${cache}
      expected: '${JSON.stringify(Object.fromEntries(HOSTS.map((h) => [h, systemPath(h)])))}'
      html: status/fleet.html
  read:
    needs: status
    runs-on: ubuntu-latest
    permissions: {}
    outputs:
      hosts: \${{ steps.page.outputs.hosts }}
    steps:
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with: { name: fleet-status, path: got }
      - id: page
        env: { WRITTEN: "\${{ needs.status.outputs.report-html }}" }
        run: |
          test "$WRITTEN" = status/fleet.html
          echo "hosts=$(grep -o 'data-host="[^"]*"' got/fleet.html | sort | tr '\\n' ' ')" >> "$GITHUB_OUTPUT"
`;

describe('upgrade-wave.yml: the status page as an artifact', () => {
  let gh: GitHubEmulator;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-wave-html-workflow-'));
    const cache = join(dir, 'cache');
    await mkdir(join(cache, 'fleet', 'status'), { recursive: true });
    await writeFile(join(cache, 'nix-cache-info'), 'StoreDir: /nix/store\n');
    // Reports from just now: the workflow runs on the real clock.
    const now = Date.now();
    for (const host of HOSTS.slice(0, 4)) {
      await writeFile(join(cache, statusReportKey(host)), renderStatusReport(report(host, { reportedAt: new Date(now - 60_000), adoptedAt: new Date(now - 2 * 86_400_000) })));
    }
    gh = await startGitHubEmulator({ initialFiles: { 'fleet.yaml': FLEET_YAML, 'flake.nix': '{ outputs = _: { }; }\n' } });
    await mkdir(join(dir, 'repo', '.github', 'workflows'), { recursive: true });
    await writeFile(join(dir, 'repo', '.github', 'workflows', 'status.yml'), CALLER(`file://${cache}`));
  });

  afterAll(async () => {
    await gh?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the page in status mode and uploads it as fleet-status', async () => {
    const sha = (await gh.branchSha('main')) as string;
    const run = await runWorkflow(join(dir, 'repo', '.github', 'workflows', 'status.yml'), pushEvent({ fullName: `${gh.settings.owner}/${gh.settings.repo}` }, { branch: 'main', sha }), {
      repository: `${gh.settings.owner}/${gh.settings.repo}`,
      cloneUrl: gh.cloneUrl,
      github: { apiUrl: gh.apiUrl, graphqlUrl: gh.graphqlUrl, serverUrl: 'https://github.com', token: gh.token },
      nixConfig: OFFLINE_NIX_CONFIG,
    }, { localRoot: join(dir, 'repo') });
    const failed = run.jobs.flatMap((j) => j.steps.filter((s) => s.conclusion === 'failure').map((s) => `${j.name} / ${s.name}:\n${s.stdout}\n${s.stderr}`));
    expect(failed).toEqual([]);
    const wave = run.job('status / wave');
    expect(wave.outputs['report-html']).toBe('status/fleet.html');
    expect(wave.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))?.inputs).toMatchObject({ name: 'fleet-status', path: 'status/fleet.html', 'if-no-files-found': 'error' });
    expect(run.conclusions.read?.outputs.hosts?.trim().split(' ')).toEqual(HOSTS.map((h) => `data-host="${h}"`).sort());
  });
});
