import type { Host } from '../../fleet/types.js';
import type { HostStatusReport } from '../../fleet/status.js';
import { sshHelperScript } from '../../host-scripts/index.js';
import type { ReportProblem, ReportsRead } from '../context.js';
import type { Observation } from '../types.js';
import { mapConcurrent, type Clock } from '../../util/async.js';
import { errorMessage } from '../../util/errors.js';
import { CommandError, exec } from '../../util/exec.js';
import type { Log } from '../../util/log.js';

export class ProbeOutputError extends Error {
  override name = 'ProbeOutputError';
}

/**
 * Turns the probe's `key=value` lines into a report dated by the host's clock (`now` when it printed
 * none); the caller records `now` as when the runner received it, so the gate can check that clock.
 */
export function parseProbeOutput(host: string, stdout: string, now: Date): HostStatusReport {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  if (values.get('fleet-probe') !== '1') throw new ProbeOutputError(`${host}: the probe printed no report (is it a NixOS host?)`);
  const current = values.get('current') ?? '';
  if (!current.startsWith('/nix/store/')) throw new ProbeOutputError(`${host}: /run/current-system is not a store path ("${current}"); is it a NixOS host?`);
  const reportedAt = secondsValue(values.get('clock')) ?? now;
  const adoptedAt = new Date(Math.min(secondsValue(values.get('adopted'))?.getTime() ?? reportedAt.getTime(), reportedAt.getTime()));
  const generation = values.get('generation');
  return {
    host,
    system: current,
    booted: values.get('booted') || current,
    profileGeneration: generation && /^\d+$/.test(generation) ? Number(generation) : null,
    failedUnits: (values.get('failed') ?? '').split(/\s+/).filter(Boolean),
    needsReboot: values.get('reboot') === '1',
    lastError: null,
    reportedAt,
    adoptedAt,
    manifestSequence: null,
    agentVersion: 'ssh-probe',
    desired: null,
  };
}

/** A `date +%s` value as a Date, or undefined when it is none. */
function secondsValue(text: string | undefined): Date | undefined {
  const seconds = Number(text);
  return text && Number.isSafeInteger(seconds) && seconds > 0 ? new Date(seconds * 1000) : undefined;
}

export interface SshProbeOptions {
  clock: Clock;
  log: Log;
  /** The ssh program (default `ssh`). */
  ssh?: string;
  /** Extra ssh arguments, before the destination (e.g. `-i key`, `-o UserKnownHostsFile=…`). */
  sshArgs?: readonly string[];
  connectTimeoutSeconds?: number;
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
}

/** The ssh argument array that reaches a host (its port, user and jump host from the inventory). */
export function probeArguments(host: Host, options: Pick<SshProbeOptions, 'sshArgs' | 'connectTimeoutSeconds'>): string[] {
  if (host.deploy.method !== 'ssh') throw new Error(`${host.name} is deployed with ${host.deploy.method}, not ssh`);
  const target = host.deploy;
  return [
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${options.connectTimeoutSeconds ?? 15}`,
    '-p', String(target.port),
    ...(target.jump ? ['-J', target.jump] : []),
    ...(options.sshArgs ?? []),
    '-l', target.user,
    '--', target.host,
    // The deploy helper's `probe` command, sent on stdin: nothing from inputs goes into it.
    'sh -s probe',
  ];
}

/**
 * Probes ssh hosts now. An unreachable host gets no report and a problem naming it, so it blocks its
 * gate (its state is unknown, not "not seen"); hosts deployed
 * another way are skipped with a note.
 */
export async function probeHosts(hosts: readonly Host[], options: SshProbeOptions): Promise<ReportsRead & { observations: Map<string, Observation> }> {
  const reports = new Map<string, HostStatusReport>();
  const observations = new Map<string, Observation>();
  const problems: ReportProblem[] = [];
  await mapConcurrent(hosts, options.concurrency ?? 16, async (host) => {
    if (host.deploy.method !== 'ssh') {
      problems.push({ key: host.name, message: `deployed with ${host.deploy.method}: ssh probing skips it` });
      return;
    }
    try {
      const { stdout } = await exec(options.ssh ?? 'ssh', probeArguments(host, options), {
        input: sshHelperScript(),
        timeoutMs: ((options.connectTimeoutSeconds ?? 15) + 30) * 1000,
        ...(options.env ? { env: options.env } : {}),
      });
      const receivedAt = options.clock.now();
      reports.set(host.name, parseProbeOutput(host.name, stdout, receivedAt));
      observations.set(host.name, { receivedAt });
    } catch (error) {
      // ssh's own last words (`No route to host`, `Permission denied`) say more than the exit code.
      const said = error instanceof CommandError ? error.stderr.trim().split('\n').pop() : undefined;
      options.log.warning(`${host.name}: probe failed: ${errorMessage(error)}`);
      problems.push({ key: host.name, host: host.name, message: `unreachable: ${said || errorMessage(error).split('\n')[0]}` });
    }
  });
  return { reports, observations, problems: problems.sort((a, b) => a.key.localeCompare(b.key)) };
}
