import { refAllowed, selectHosts } from '../fleet/select.js';
import type { Host, Inventory, Quorum, Wave } from '../fleet/types.js';
import type { HostStatusReport } from '../fleet/status.js';
import type { GitHubClient, RepoRef } from '../github/client.js';
import type { AutoMergeSetting } from '../github/auto-merge.js';
import type { Log } from '../util/log.js';
import { UserError } from '../util/errors.js';
import { evaluateGate } from './gate.js';
import type { LoadedInventory } from './inventory-source.js';
import type { ClosureSource } from './sizes.js';
import type { GroupGate, Observation } from './types.js';

/**
 * A status that could not be used. `host` is set when the problem leaves that host's state unknown
 * (a report cut off, invalid, unreachable): the host then blocks its gate instead of counting as not seen.
 */
export interface ReportProblem {
  key: string;
  message: string;
  host?: string;
}

export interface ReportsRead {
  reports: Map<string, HostStatusReport>;
  problems: ReportProblem[];
  observations?: Map<string, Observation>;
}

/** Where the hosts' reports come from, read once per run. */
export type ReportSource = (hosts: readonly Host[]) => Promise<ReportsRead>;

/** Host → why its status is unknown, from the problems that name a host. */
export function unreadableHosts(problems: readonly ReportProblem[]): Map<string, string> {
  return new Map(problems.filter((p) => p.host !== undefined).map((p) => [p.host as string, p.message]));
}

/** The expected systems of some hosts (from the `expected` input or an evaluation). */
export type ExpectedSource = (hosts: readonly Host[]) => Promise<Map<string, string>>;

export interface WaveGitHub {
  client: GitHubClient;
  repo: RepoRef;
  /** Link to the run, for pull request bodies. */
  runUrl?: string;
}

export interface WaveOptions {
  mode: 'status' | 'promote' | 'advance';
  inventory: LoadedInventory;
  /** The inventory's path from the repository root (for the advance commit), when it is a file in the repository. */
  inventoryRepoPath?: string;
  reports: ReportSource;
  expected: ExpectedSource;
  /** Host → system before the candidate; hosts whose path equals it pass at once. */
  baseline?: Map<string, string>;
  /** Host → system of the next wave on the new channel (the advance size table); or evaluated by `nextExpected`. */
  nextExpected?: (hosts: readonly Host[], editedInventory: string) => Promise<Map<string, string>>;
  closures?: ClosureSource;
  soakMs?: number;
  quorum?: Quorum;
  offlineAfterMs: number;
  sourceBranch: string;
  targetBranch: string;
  /** Selectors for the hosts gating a promotion; default: hosts whose environment allows the source branch. */
  promotionHosts?: readonly string[];
  holdLabel: string;
  autoMerge: AutoMergeSetting;
  abort: boolean;
  github?: WaveGitHub;
  now: Date;
  log: Log;
}

/** Hosts of a wave, in inventory order. */
export function hostsOfWave(inventory: Inventory, wave: string): Host[] {
  return Object.values(inventory.hosts).filter((host) => host.wave === wave);
}

export interface GateData {
  reports: Map<string, HostStatusReport>;
  expected: Map<string, string>;
  /** Host → why its status could not be read: it blocks. */
  unreadable?: Map<string, string>;
  observations?: Map<string, Observation>;
}

/** The gate's data from what a report source read and the expected systems. */
export function gateData(read: ReportsRead, expected: Map<string, string>): GateData {
  return { reports: read.reports, expected, unreadable: unreadableHosts(read.problems), ...(read.observations ? { observations: read.observations } : {}) };
}

/** A wave's gate, with the run's soak and quorum overrides. */
export function waveGate(wave: Wave, inventory: Inventory, data: GateData, options: Pick<WaveOptions, 'soakMs' | 'quorum' | 'offlineAfterMs' | 'baseline' | 'now'>): GroupGate {
  return evaluateGate({
    name: wave.name,
    ...(wave.channel !== undefined ? { channel: wave.channel } : {}),
    hosts: hostsOfWave(inventory, wave.name).map((h) => ({ name: h.name, ...(h.wave ? { wave: h.wave } : {}) })),
    expected: data.expected,
    ...(options.baseline ? { baseline: options.baseline } : {}),
    reports: data.reports,
    ...(data.unreadable ? { unreadable: data.unreadable } : {}),
    ...(data.observations ? { observations: data.observations } : {}),
    soakMs: options.soakMs ?? wave.soakMs,
    quorum: options.quorum ?? wave.quorum,
    offlineAfterMs: options.offlineAfterMs,
    now: options.now,
  });
}

/**
 * The hosts in no wave, for `status` only: shown, but gating nothing. Soak 0 and quorum 100%, so
 * each one's state says only whether it runs its expected system. Undefined when every host has a wave.
 */
export function outsideWavesGate(inventory: Inventory, data: GateData, options: Pick<WaveOptions, 'offlineAfterMs' | 'now'>): GroupGate | undefined {
  const hosts = Object.values(inventory.hosts).filter((h) => !h.wave);
  if (hosts.length === 0) return undefined;
  return evaluateGate({
    name: '',
    hosts: hosts.map((h) => ({ name: h.name })),
    expected: data.expected,
    reports: data.reports,
    ...(data.unreadable ? { unreadable: data.unreadable } : {}),
    ...(data.observations ? { observations: data.observations } : {}),
    soakMs: 0,
    quorum: { percent: 100 },
    offlineAfterMs: options.offlineAfterMs,
    now: options.now,
  });
}

/**
 * The hosts that run the source branch before it is promoted: those of the `promotionHosts`
 * selectors, else every host whose environment allows `refs/heads/<source>`.
 */
export function promotionHosts(inventory: Inventory, sourceBranch: string, selectors?: readonly string[]): Host[] {
  if (selectors && selectors.length > 0) return selectHosts(inventory, selectors);
  const ref = `refs/heads/${sourceBranch}`;
  const environments = Object.values(inventory.environments).filter((env) => refAllowed(env.allowedRefs, ref));
  const hosts = Object.values(inventory.hosts).filter((host) => environments.some((env) => env.name === host.environment));
  if (hosts.length === 0) {
    throw new UserError(
      `No host runs ${sourceBranch} before promotion: no environment of ${inventory.source} allows ${ref}. ` +
        `Add ${ref} to the staging environment's allowed-refs, or name the staging hosts in the \`hosts\` input (for example hosts: env:staging).`,
    );
  }
  return hosts;
}

/** The staging gate: one group, soak from the input or the longest soak of the hosts' waves, quorum from the input or 100%. */
export function stagingGate(hosts: readonly Host[], inventory: Inventory, data: GateData, options: Pick<WaveOptions, 'soakMs' | 'quorum' | 'offlineAfterMs' | 'baseline' | 'now'>): GroupGate {
  const waveSoaks = hosts.map((h) => (h.wave ? inventory.waves[h.wave]?.soakMs : undefined)).filter((s): s is number => s !== undefined);
  return evaluateGate({
    name: 'staging',
    hosts: hosts.map((h) => ({ name: h.name, ...(h.wave ? { wave: h.wave } : {}) })),
    expected: data.expected,
    ...(options.baseline ? { baseline: options.baseline } : {}),
    reports: data.reports,
    ...(data.unreadable ? { unreadable: data.unreadable } : {}),
    ...(data.observations ? { observations: data.observations } : {}),
    soakMs: options.soakMs ?? (waveSoaks.length > 0 ? Math.max(...waveSoaks) : 0),
    quorum: options.quorum ?? { percent: 100 },
    offlineAfterMs: options.offlineAfterMs,
    now: options.now,
  });
}
