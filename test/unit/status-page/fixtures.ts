import type { Host, Inventory } from '../../../src/fleet/types.js';
import { statusPageInput, type StatusPageInput } from '../../../src/status-page/index.js';
import type { WaveReport } from '../../../src/wave/report.js';
import type { GroupGate, HostGate, HostState } from '../../../src/wave/types.js';

export const NOW = new Date('2025-03-10T12:00:00Z');
export const HOSTILE_ERROR = '</script><img src=x onerror=alert(1)>';
export const HOSTILE_UNIT = '<b onmouseover=alert(2)>x</b>.service';
export const WAVES = ['first', 'middle', 'final'];
export const ENVIRONMENTS = ['staging', 'production'];
export const STATES: HostState[] = ['passing', 'behind', 'failed', 'straggler'];
const HOUR = 3_600_000;
const MIB = 1024 * 1024;

/** Every twentieth host is in no wave: shown on the page, gating nothing. */
export const isOutsideWaves = (index: number) => index % 20 === 19;

const storePath = (seed: number, name: string) => `/nix/store/${seed.toString(36).padStart(8, '0').repeat(4).slice(0, 32).replace(/[eotu]/g, 'x')}-nixos-system-${name}-24.11`;

function hostGate(index: number): HostGate {
  const name = `host${String(index).padStart(3, '0')}`;
  const state = STATES[index % STATES.length] as HostState;
  const expected = storePath(index + 1000, name);
  const wave = isOutsideWaves(index) ? {} : { wave: WAVES[index % WAVES.length] as string };
  const base: HostGate = { host: name, ...wave, expected, state, health: 'ok', failedUnits: [], lastError: null, needsReboot: false, detail: '' };
  switch (state) {
    case 'passing':
      return { ...base, running: expected, adoptedAt: new Date(NOW.getTime() - 30 * HOUR), reportedAt: new Date(NOW.getTime() - HOUR), soakedMs: 30 * HOUR, detail: 'ran the expected system for 1d6h' };
    case 'behind': {
      const fetching = index % 8 === 1 ? { download: { system: expected, paths: 12 + index, bytes: (40 + index) * MIB, totalPaths: 400, totalBytes: 900 * MIB, measuredAt: new Date(NOW.getTime() - 2 * HOUR) }, ...(index % 16 === 1 ? { fetchBytesPerSecond: 24 * 1024 } : {}) } : {};
      return { ...base, ...fetching, running: storePath(index, name), adoptedAt: new Date(NOW.getTime() - 90 * HOUR), reportedAt: new Date(NOW.getTime() - 2 * HOUR), needsReboot: index % 3 === 0, detail: 'runs another system' };
    }
    case 'failed':
      return { ...base, running: expected, health: 'failed', adoptedAt: new Date(NOW.getTime() - 5 * HOUR), reportedAt: new Date(NOW.getTime() - 3 * HOUR), failedUnits: ['nginx.service'], lastError: 'activation failed', detail: 'reports failed units: nginx.service' };
    default:
      return { ...base, health: 'unknown', reportedAt: new Date(NOW.getTime() - 9 * 24 * HOUR), detail: 'not seen for 9d0h' };
  }
}

function gate(name: string, hosts: HostGate[]): GroupGate {
  const seen = hosts.filter((h) => h.state !== 'straggler');
  const passing = hosts.filter((h) => h.state === 'passing').length;
  const failures = hosts.filter((h) => h.state === 'failed').map((h) => h.host);
  const required = Math.ceil(seen.length * 0.8);
  return {
    name,
    channel: `nixpkgs-24-11`,
    soakMs: 24 * HOUR,
    quorum: { percent: 80 },
    hosts,
    total: hosts.length,
    seen: seen.length,
    passing,
    required,
    stragglers: hosts.filter((h) => h.state === 'straggler').map((h) => h.host),
    failures,
    unreadable: [],
    passed: false,
    state: failures.length > 0 ? 'failed' : 'waiting',
    readyAt: new Date(NOW.getTime() + 6 * HOUR),
    reasons: [`${passing} of ${seen.length} seen pass, ${required} needed`, ...(failures.length > 0 ? [`failed: ${failures.join(', ')}`] : [])],
  };
}

/**
 * A fleet of `count` hosts in four states across three waves (every twentieth in no wave) and two
 * environments, as a status run reports it; some behind hosts are fetching their system. Host 2
 * (failed) carries a hostile last error and failed unit.
 */
export function statusFleet(count = 120): { input: StatusPageInput; report: WaveReport; inventory: Inventory } {
  const hosts = Array.from({ length: count }, (_, i) => hostGate(i));
  const hostile = hosts[2] as HostGate;
  hostile.lastError = HOSTILE_ERROR;
  hostile.failedUnits = [HOSTILE_UNIT];
  const inventoryHosts: Record<string, Host> = Object.fromEntries(
    hosts.map((h, i) => [h.host, { name: h.host, attribute: h.host, system: 'x86_64-linux', environment: ENVIRONMENTS[i % 2] as string, ...(h.wave ? { wave: h.wave } : {}), tags: i % 5 === 0 ? ['web', 'clinic'] : ['web'], deploy: { method: 'pull' } } satisfies Host]),
  );
  const inventory: Inventory = { environments: {}, waves: {}, hosts: inventoryHosts, holds: [], pinned: [], source: 'fleet.yaml' };
  const report: WaveReport = {
    mode: 'status',
    decision: 'blocked',
    reason: 'failures reported',
    generatedAt: NOW,
    holds: [{ source: 'inventory', reason: 'freeze <for> audit' }],
    waves: WAVES.map((name) => gate(name, hosts.filter((h) => h.wave === name))),
    outsideWaves: hosts.filter((h) => !h.wave),
    problems: [{ key: 'fleet/status/ghost.json', message: 'not JSON: <oops>' }],
    warnings: [],
  };
  return { input: statusPageInput(report, inventory), report, inventory };
}
