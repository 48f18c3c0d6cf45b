import type { DownloadProgress } from '../fleet/status.js';
import type { Quorum } from '../fleet/types.js';

/** Where a host stands against the gate. */
export type HostState =
  /** Runs the expected system for at least the soak time. */
  | 'passing'
  /** Its expected system did not change (same as the baseline) and it runs it: passes at once. */
  | 'unchanged'
  /** Runs the expected system, soak not over yet. */
  | 'soaking'
  /** Runs another system. */
  | 'behind'
  /** Reports failed units or a failed last run. */
  | 'failed'
  /** Not seen within offline-after (or never): listed, never blocking, never counted as passing. */
  | 'straggler'
  /**
   * Its status could not be read, parsed or trusted (cut off, invalid, unreachable, dated in the
   * future): unlike a host never seen, it blocks the gate, which says why.
   */
  | 'unreadable'
  /** No expected system is known for it, so it cannot pass. */
  | 'unknown';

export type Health = 'ok' | 'failed' | 'unknown';

export interface HostGate {
  host: string;
  wave?: string;
  expected?: string;
  running?: string;
  booted?: string;
  state: HostState;
  health: Health;
  /** When the host started running `running`. */
  adoptedAt?: Date;
  /** When the host last reported. */
  reportedAt?: Date;
  /** When its soak is counted from, when that is not `adoptedAt` (see `soakNote`). */
  soakStartedAt?: Date;
  /** Why the soak is not counted from the reported adoption time. */
  soakNote?: string;
  /** How long it has run `running` (only when it is the expected system). */
  soakedMs?: number;
  /** When its soak ends (only while soaking). */
  soakEndsAt?: Date;
  failedUnits: string[];
  lastError: string | null;
  needsReboot: boolean;
  /** What of the expected system's closure the host still fetches, as it last reported. */
  download?: DownloadProgress;
  /** Bytes per second the host's link delivered at its last fetch, as it reported. */
  fetchBytesPerSecond?: number;
  /** One line for people: why this state. */
  detail: string;
}

export type GroupState = 'passed' | 'waiting' | 'failed' | 'empty';

/** The gate of one wave (or of the staging hosts before a promotion). */
export interface GroupGate {
  name: string;
  channel?: string;
  soakMs: number;
  quorum: Quorum;
  hosts: HostGate[];
  total: number;
  /** Hosts seen within offline-after. */
  seen: number;
  /** Hosts counted as passing (`passing` and `unchanged`). */
  passing: number;
  /** Passing hosts needed: the quorum over the hosts seen. */
  required: number;
  stragglers: string[];
  failures: string[];
  /** Hosts whose status could not be read or trusted: each blocks. */
  unreadable: string[];
  passed: boolean;
  state: GroupState;
  /** Earliest time the gate can pass if nothing else changes (while soaking). */
  readyAt?: Date;
  /** Why it did not pass (empty when it passed). */
  reasons: string[];
}

export type Decision = 'promoted' | 'advanced' | 'reverted' | 'waiting' | 'blocked' | 'nothing-to-do';

export interface HoldInfo {
  source: 'inventory' | 'label';
  reason: string;
  /** Waves it holds; all when absent. */
  waves?: string[];
  url?: string;
  number?: number;
}

/**
 * What the store or the runner saw of a host, whatever the host's clock says. The gate counts soak
 * from these where a host's own times would make it longer.
 */
export interface Observation {
  /** When the store received the host's report (the object's date), or when the runner probed it. */
  receivedAt?: Date;
  /** The manifest that asks the host for its system (pull hosts): no adoption of it came earlier. */
  manifest?: { system: string; issuedAt: Date };
}
