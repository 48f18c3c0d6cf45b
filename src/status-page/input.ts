import type { Inventory } from '../fleet/types.js';
import { describeHold } from '../wave/holds.js';
import type { StatusHistory } from '../wave/history.js';
import type { WaveReport } from '../wave/report.js';
import type { SizeChange } from '../wave/sizes.js';
import type { HostGate } from '../wave/types.js';
import type { StatusHost, StatusPageInput } from './types.js';

/**
 * The page's input from a `status` run's report (the hosts of each wave, then those in no wave),
 * with each host's environment and tags from the inventory, what the status history says (see `statusHistory`) when there is one, and the closure
 * changes of the hosts that are behind (see `sizeChange`).
 */
export function statusPageInput(report: WaveReport, inventory: Inventory, history?: StatusHistory, sizes?: ReadonlyMap<string, SizeChange>): StatusPageInput {
  const withInventory = (host: HostGate, wave: string): StatusHost => {
    const entry = inventory.hosts[host.host];
    return { ...host, wave, environment: entry?.environment ?? '', tags: entry?.tags ?? [] };
  };
  const hosts: StatusHost[] = [
    ...report.waves.flatMap((gate) => gate.hosts.map((host) => withInventory(host, gate.name))),
    ...(report.outsideWaves ?? []).map((host) => withInventory(host, '')),
  ];
  return {
    generatedAt: report.generatedAt,
    decision: report.decision,
    reason: report.reason,
    waves: report.waves.map(({ hosts: _hosts, ...gate }) => gate),
    hosts,
    holds: report.holds.map(describeHold),
    problems: report.problems.map((p) => ({ key: p.key, message: p.message })),
    ...(history ? { history } : {}),
    ...(sizes && sizes.size > 0 ? { sizes } : {}),
  };
}
