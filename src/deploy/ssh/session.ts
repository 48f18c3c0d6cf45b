import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../../fleet/types.js';
import { describeCommand, exec, type ExecResult } from '../../util/exec.js';
import { remoteCommand } from '../shell-quote.js';
import { startAgent, type SshAgent } from './agent.js';
import { sshConfigText, targetOptions } from './config.js';
import type { SshSessionRecord } from './leftovers.js';

export interface SshSessionOptions {
  /** The deploy key (OpenSSH format), held by an ssh-agent of our own; the caller's agent/keys when absent. */
  privateKey?: string;
  /** known_hosts lines; ssh's own known_hosts files when absent (host keys are always checked). */
  knownHosts?: string;
  /** Default 15 s. */
  connectTimeoutMs?: number;
  /** How long the agent keeps the key unrefreshed (`ssh-agent -t`); default one hour. */
  keyLifetimeSeconds?: number;
  /**
   * Told what a killed process would leave behind: the private directory as soon as it exists,
   * then with the agent's pid. A later step (the action's post step) ends and removes them.
   */
  onLeftovers?: (record: SshSessionRecord) => void;
  signal?: AbortSignal;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type ConnectionFailure = 'host-key' | 'auth' | 'refused' | 'timeout' | 'lost';

/** ssh could not connect, or lost the connection; the remote command's fate is unknown. */
export class SshConnectionError extends Error {
  override name = 'SshConnectionError';
  readonly kind: ConnectionFailure;
  constructor(kind: ConnectionFailure, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** What ssh's exit 255 means, from its stderr. */
export function classifySshFailure(stderr: string): ConnectionFailure {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No [\w-]+ host key is known/i.test(stderr)) return 'host-key';
  if (/Permission denied|Too many authentication failures/i.test(stderr)) return 'auth';
  if (/Connection refused|No route to host|Could not resolve|Network is unreachable/i.test(stderr)) return 'refused';
  if (/timed out|Timeout, server/i.test(stderr)) return 'timeout';
  return 'lost';
}

/**
 * Everything one deploy needs to reach hosts over ssh: a private directory with the ssh_config
 * and known_hosts, and an agent holding the key. Every `run` is a new connection.
 */
export class SshSession {
  readonly configFile: string;
  private readonly dir: string;
  private readonly agent: SshAgent | undefined;

  private constructor(dir: string, configFile: string, agent: SshAgent | undefined) {
    this.dir = dir;
    this.configFile = configFile;
    this.agent = agent;
  }

  static async open(options: SshSessionOptions = {}): Promise<SshSession> {
    // NIX_SSHOPTS is split on whitespace: the directory must not contain any.
    const base = /\s/.test(tmpdir()) ? '/tmp' : tmpdir();
    const dir = await mkdtemp(join(base, 'fleet-ssh-'));
    try {
      await chmod(dir, 0o700);
      options.onLeftovers?.({ dir });
      const knownHostsFile = options.knownHosts !== undefined ? join(dir, 'known_hosts') : undefined;
      if (knownHostsFile) await writeFile(knownHostsFile, `${options.knownHosts?.trim()}\n`, { mode: 0o600 });
      const agent = options.privateKey ? await startAgent(dir, options.privateKey, { keyLifetimeSeconds: options.keyLifetimeSeconds ?? 3600, signal: options.signal }) : undefined;
      if (agent) options.onLeftovers?.({ dir, agentPid: agent.pid });
      const configFile = join(dir, 'ssh_config');
      const connectTimeoutSeconds = Math.max(1, Math.round((options.connectTimeoutMs ?? 15_000) / 1000));
      await writeFile(configFile, sshConfigText({ knownHostsFile, agentSocket: agent?.socket, connectTimeoutSeconds }), { mode: 0o600 });
      return new SshSession(dir, configFile, agent);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** `ssh` arguments for a command on `target` (the command is quoted argument by argument). */
  sshArgs(target: SshTarget, argv: readonly string[]): string[] {
    return ['-F', this.configFile, ...targetOptions(target), '-l', target.user, '--', target.host, remoteCommand(argv)];
  }

  /**
   * Runs `argv` on the host over a new connection and resolves with its exit code and output.
   * Throws SshConnectionError when ssh itself failed (exit 255).
   */
  async run(target: SshTarget, argv: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    const args = this.sshArgs(target, argv);
    const result = await exec('ssh', args, { ...options, allowFailure: true }).catch((error: unknown) => {
      // exec rejects only for a timeout or a missing ssh binary.
      throw new SshConnectionError('timeout', `${describeCommand('ssh', [target.host, ...argv])}: ${(error as Error).message}`);
    });
    if (result.code === 255) {
      const kind = classifySshFailure(result.stderr);
      throw new SshConnectionError(kind, `ssh ${target.user}@${target.host}:${target.port}: ${result.stderr.trim().split('\n').slice(-3).join(' ') || 'connection failed'}`);
    }
    return result;
  }

  /** The store URL for `nix copy --to`, with NIX_SSHOPTS to give Nix's ssh the same options. */
  nixStore(target: SshTarget): { url: string; env: NodeJS.ProcessEnv } {
    return { url: `ssh://${target.user}@${target.host}`, env: { NIX_SSHOPTS: ['-F', this.configFile, ...targetOptions(target)].join(' ') } };
  }

  async close(): Promise<void> {
    await this.agent?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
