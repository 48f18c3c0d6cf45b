import type { SizeChange } from './sizes.js';
import type { Decision, GroupGate, HoldInfo, HostGate } from './types.js';
import type { ReportProblem } from './context.js';

export type PullOperation = 'created' | 'updated' | 'unchanged';

export interface PullRequestOutcome {
  number: number;
  url: string;
  operation: PullOperation;
  autoMerge?: 'enabled' | 'disabled' | 'not-enabled';
}

/** Everything a run found and decided; the `report` output is this as JSON. */
export interface WaveReport {
  mode: 'status' | 'promote' | 'advance' | 'abort';
  decision: Decision;
  /** One sentence: why this decision. */
  reason: string;
  generatedAt: Date;
  holds: HoldInfo[];
  /** Every wave's gate, in order (status and advance). */
  waves: GroupGate[];
  /** `status`: the hosts in no wave, evaluated like a wave's but gating nothing. */
  outsideWaves?: HostGate[];
  promotion?: {
    source: string;
    target: string;
    aheadBy: number;
    /** The commit being promoted (tip of the source branch). */
    candidate?: string;
    gate?: GroupGate;
  };
  advance?: {
    /** The wave that passed, and the wave moved to its channel. */
    from: string;
    to: string;
    channel: string;
    previousChannel?: string;
    inventoryPath?: string;
    sizes: SizeChange[];
  };
  revert?: {
    pullRequest: number;
    mergeCommit: string;
  };
  pullRequest?: PullRequestOutcome;
  /** Status reports that could not be used, and hosts that could not be probed. */
  problems: ReportProblem[];
  warnings: string[];
}

/** The report as plain JSON (times as ISO strings), for the `report` output. */
export function reportJson(report: WaveReport): unknown {
  return JSON.parse(JSON.stringify(report));
}
