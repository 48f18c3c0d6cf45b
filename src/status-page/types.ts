import type { StatusHistory } from '../wave/history.js';
import type { SizeChange } from '../wave/sizes.js';
import type { GroupGate, HostGate } from '../wave/types.js';

/** A host's gate with what the inventory says of it. */
export interface StatusHost extends HostGate {
  /** '' for a host in no wave. */
  wave: string;
  environment: string;
  tags: string[];
}

/** A wave's gate without its hosts (they are in `StatusPageInput.hosts`). */
export type StatusWave = Omit<GroupGate, 'hosts'>;

/** Everything the status page shows, built from a status run's report (`statusPageInput`). */
export interface StatusPageInput {
  generatedAt: Date;
  decision: string;
  reason: string;
  /** In wave order. */
  waves: StatusWave[];
  /** In wave order, then as each gate lists them; the hosts in no wave last. */
  hosts: StatusHost[];
  holds: string[];
  /** Status reports that could not be used. */
  problems: { key: string; message: string }[];
  /** From the status history in the store, when it has records: since when hosts run their system, how long waves took. */
  history?: StatusHistory;
  /** For hosts that do not run their expected system: what moving to it changes in the closure, and what it downloads. */
  sizes?: ReadonlyMap<string, SizeChange>;
}
