import { deploy, type DeployReport, type DeployRequest } from '../../../src/deploy/deploy.js';
import type { HostResult } from '../../../src/rollout/types.js';
import { memoryLog } from '../../../src/util/log.js';
import { buildExampleFleet } from '../example-fleet.js';
import type { SimulatedFleet, SimulatedHost } from './index.js';

/** Two generations of one example-fleet system: what hosts start with, and what a deploy gives them. */
export async function twoGenerations(attribute = 'web1'): Promise<{ v1: string; v2: string }> {
  const [one, two] = await Promise.all([buildExampleFleet({ variant: '1', hosts: [attribute] }), buildExampleFleet({ variant: '2', hosts: [attribute] })]);
  return { v1: one.toplevels[attribute] as string, v2: two.toplevels[attribute] as string };
}

export type DeployOverrides = Partial<Omit<DeployRequest, 'settings'>> & { settings?: DeployRequest['settings'] };

/**
 * deploy() to simulated hosts with the fleet's key and known_hosts, every host getting `system`.
 * Timings are shortened for tests (retries 300 ms apart); the log is kept in memory.
 */
export async function deployTo(
  fleet: SimulatedFleet,
  hosts: readonly SimulatedHost[],
  system: string,
  overrides: DeployOverrides = {},
): Promise<DeployReport & { log: string[]; byHost: Record<string, HostResult> }> {
  const log = memoryLog();
  const report = await deploy({
    hosts: hosts.map((h) => h.inventoryHost()),
    systems: Object.fromEntries(hosts.map((h) => [h.name, system])),
    ssh: { privateKey: fleet.privateKey, knownHosts: fleet.knownHosts },
    log,
    ...overrides,
    settings: { retryDelayMs: 300, connectAttempts: 2, ...overrides.settings },
  });
  return { ...report, log: log.lines, byHost: Object.fromEntries(report.results.map((r) => [r.host, r])) };
}

/** The host's state as the harness reads it from its directory. */
export async function snapshot(host: SimulatedHost) {
  return {
    current: await host.currentSystem(),
    booted: await host.bootedSystem(),
    profile: await host.profileSystem(),
    generation: await host.profileGeneration(),
    bootDefault: await host.bootDefault(),
    bootId: await host.bootId(),
  };
}
