import { Octokit } from '@octokit/rest';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { renderStatusReport, statusReportKey, type HostStatusReport } from '../../src/fleet/status.js';
import { parseInventoryText } from '../../src/fleet/inventory.js';
import { createGitHubClient } from '../../src/github/client.js';
import type { WaveOptions } from '../../src/wave/context.js';
import { cacheReports } from '../../src/wave/sources/cache.js';
import { memoryLog } from '../../src/util/log.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/index.js';
import { startS3rver, type S3rverHandle } from '../support/servers/s3rver.js';

/** A fleet with two staging hosts, and production hosts over three waves. */
export const FLEET_YAML = `# Test fleet for the upgrade-wave gates.
environments:
  staging: { allowed-refs: [refs/heads/staging, refs/heads/main] }
  production: { allowed-refs: [refs/heads/main], protected: true }

# Release upgrades move one wave at a time.
waves:
  first: { order: 1, soak: 1h, quorum: 100%, channel: nixos-25.05 }
  middle: { order: 2, soak: 24h, quorum: 80%, channel: nixos-24.11 }
  final: { order: 3, soak: 24h, quorum: 75%, channel: nixos-24.11 } # the clinics

holds: []

defaults:
  deploy: { method: pull }

hosts:
  stage1: { environment: staging, wave: first }
  stage2: { environment: staging, wave: first }
  web1: { environment: production, wave: middle }
  web2: { environment: production, wave: middle }
  clinic-kin: { environment: production, wave: final }
`;

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const NOW = new Date('2025-03-10T12:00:00Z');

/** A store path of the right shape: `generation` makes another system of the same host. */
export function systemPath(host: string, generation = 2): string {
  const hash = `${generation}`.padStart(32, 'v').replace(/[^0-9a-df-np-sv-z]/g, 'v');
  return `/nix/store/${hash}-nixos-system-${host}-${generation}`;
}

export function report(host: string, overrides: Partial<HostStatusReport> = {}): HostStatusReport {
  return {
    host,
    system: systemPath(host),
    booted: systemPath(host),
    profileGeneration: 12,
    failedUnits: [],
    needsReboot: false,
    lastError: null,
    reportedAt: new Date(NOW.getTime() - 5 * 60_000),
    adoptedAt: new Date(NOW.getTime() - 2 * DAY),
    manifestSequence: 7,
    agentVersion: '1.0.0',
    desired: null,
    ...overrides,
  };
}

export interface WaveBed {
  github: GitHubEmulator;
  s3: S3rverHandle;
  store: OpenedStore;
  /** A client for the test itself (creating issues, merging pull requests). */
  octokit: Octokit;
  repo: { owner: string; repo: string };
  putReports(reports: HostStatusReport[]): Promise<void>;
  /** Makes the bucket a binary cache (what action-build's first push does). */
  putCacheInfo(): Promise<void>;
  /** Stores any text at a key (a report cut off or forged). */
  putRaw(key: string, text: string): Promise<void>;
  options(overrides?: Partial<WaveOptions>): WaveOptions;
  stop(): Promise<void>;
}

/** The GitHub emulator with FLEET_YAML on main and a staging branch one commit ahead, and s3rver for the reports. */
export async function startWaveBed(options: { fleetYaml?: string; stagingAhead?: boolean } = {}): Promise<WaveBed> {
  const fleetYaml = options.fleetYaml ?? FLEET_YAML;
  const [github, s3] = await Promise.all([startGitHubEmulator({ initialFiles: { 'fleet.yaml': fleetYaml, 'flake.nix': '{ outputs = _: { }; }\n' }, allowAutoMerge: true, protectedBranches: { main: { requiredStatusChecks: ['build'] } } }), startS3rver({ bucket: 'fleet-cache' })]);
  const octokit = new Octokit(github.octokitOptions);
  const repo = { owner: github.settings.owner, repo: github.settings.repo };
  const mainSha = (await github.branchSha('main')) as string;
  await octokit.rest.git.createRef({ ...repo, ref: 'refs/heads/staging', sha: mainSha });
  if (options.stagingAhead ?? true) await github.seed({ 'hosts/web.nix': '{ services.nginx.enable = true; }\n' }, { branch: 'staging', message: 'nginx on web hosts' });
  const store = openStore(s3.cacheUrl, { credentials: s3.credentials });
  const client = createGitHubClient({ token: github.token, baseUrl: github.apiUrl, graphqlUrl: github.graphqlUrl, log: memoryLog(), retryDelayMs: 10 });
  const inventory = parseInventoryText(fleetYaml, 'fleet.yaml');
  return {
    github,
    s3,
    store,
    octokit,
    repo,
    async putCacheInfo() {
      await store.put('nix-cache-info', 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n', 'text/x-nix-cache-info');
    },
    async putReports(reports) {
      await Promise.all(reports.map((r) => store.put(statusReportKey(r.host), renderStatusReport(r), 'application/json')));
    },
    async putRaw(key, text) {
      await store.put(key, text, 'application/json');
    },
    options(overrides = {}) {
      return {
        mode: 'promote',
        inventory: { inventory, file: '/work/fleet.yaml', text: fleetYaml },
        inventoryRepoPath: 'fleet.yaml',
        reports: (hosts) => cacheReports(store, hosts),
        expected: async (hosts) => new Map(hosts.map((h) => [h.name, systemPath(h.name)])),
        offlineAfterMs: 7 * DAY,
        sourceBranch: 'staging',
        targetBranch: 'main',
        holdLabel: 'fleet-hold',
        autoMerge: 'off',
        abort: false,
        github: { client, repo, runUrl: 'https://github.com/acme/fleet/actions/runs/1' },
        now: NOW,
        log: memoryLog(),
        ...overrides,
      };
    },
    async stop() {
      await store.close();
      await Promise.all([github.stop(), s3.stop()]);
    },
  };
}

/** Open pull requests of the emulated repository. */
export async function openPulls(bed: WaveBed) {
  const { data } = await bed.octokit.rest.pulls.list({ ...bed.repo, state: 'open' });
  return data;
}
