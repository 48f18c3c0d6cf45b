import type { Host } from '../../fleet/types.js';
import type { HostStatusReport } from '../../fleet/status.js';
import { sshHelperScript } from '../../host-scripts/index.js';
import type { ReportProblem } from '../context.js';
import { mapConcurrent, type Clock } from '../../util/async.js';
import { errorMessage } from '../../util/errors.js';
import { CommandError, exec } from '../../util/exec.js';
import type { Log } from '../../util/log.js';

export class ProbeOutputError extends Error {
  override name = 'ProbeOutputError';
}

/** Turns the probe's `key=value` lines into a report as of `now`. */
export function parseProbeOutput(host: string, stdout: string, now: Date): HostStatusReport {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  if (values.get('fleet-probe') !== '1') throw new ProbeOutputError(`${host}: the probe printed no report (is it a NixOS host?)`);
  const current = values.get('current') ?? '';
  if (!current.startsWith('/nix/store/')) throw new ProbeOutputError(`${host}: /run/current-system is not a store path ("${current}"); is it a NixOS host?`);
  const adoptedSeconds = Number(values.get('adopted'));
  const adoptedAt = Number.isFinite(adoptedSeconds) && adoptedSeconds > 0 ? new Date(Math.min(adoptedSeconds * 1000, now.getTime())) : now;
  const generation = values.get('generation');
  return {
    host,
    system: current,
    booted: values.get('booted') || current,
    profileGeneration: generation && /^\d+$/.test(generation) ? Number(generation) : null,
    failedUnits: (values.get('failed') ?? '').split(/\s+/).filter(Boolean),
    needsReboot: values.get('reboot') === '1',
    lastError: null,
    reportedAt: now,
    adoptedAt,
    manifestSequence: null,
    agentVersion: 'ssh-probe',
    desired: null,
  };
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
export async function probeHosts(hosts: readonly Host[], options: SshProbeOptions): Promise<{ reports: Map<string, HostStatusReport>; problems: ReportProblem[] }> {
  const reports = new Map<string, HostStatusReport>();
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
      reports.set(host.name, parseProbeOutput(host.name, stdout, options.clock.now()));
    } catch (error) {
      // ssh's own last words (`No route to host`, `Permission denied`) say more than the exit code.
      const said = error instanceof CommandError ? error.stderr.trim().split('\n').pop() : undefined;
      options.log.warning(`${host.name}: probe failed: ${errorMessage(error)}`);
      problems.push({ key: host.name, host: host.name, message: `unreachable: ${said || errorMessage(error).split('\n')[0]}` });
    }
  });
  return { reports, problems: problems.sort((a, b) => a.key.localeCompare(b.key)) };
}
