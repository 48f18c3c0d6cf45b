import type { SshTarget } from '../../fleet/types.js';
import type { ExecResult } from '../../util/exec.js';
import { parseWaitOutput, type WaitResult } from './activation.js';
import { HELPER_PATH, helperScript, INSTALL_AND_STATE } from './helper.js';
import { parseHostState, type HostState } from './host-state.js';
import type { SshSession } from './session.js';

/** One activation run by the helper (see helper-script.ts for the fields' meaning). */
export interface ActivationSpec {
  id: string;
  action: 'switch' | 'boot' | 'test' | 'dry-activate';
  system: string;
  setProfile: boolean;
  /** What a rollback restores, and how; empty for activations that change nothing. */
  previous: string;
  previousAction: 'switch' | 'boot' | 'test' | '';
  /** 0: no watchdog, the activation ends in `done`. */
  confirmSeconds: number;
  limitSeconds: number;
}

/** Slack on top of a remote command's own time limit before the local ssh is killed. */
const SSH_SLACK_MS = 30_000;

/** The helper's commands on one host, each over a new ssh connection. */
export class RemoteHost {
  readonly target: SshTarget;
  private readonly session: SshSession;

  constructor(session: SshSession, target: SshTarget) {
    this.session = session;
    this.target = target;
  }

  /** Installs (refreshes) the helper and returns the host's state, with whether `system` is present. */
  async installAndState(system: string, signal?: AbortSignal): Promise<HostState> {
    const result = await this.run(['sh', '-c', INSTALL_AND_STATE, 'fleet-install', system], { input: helperScript(), timeoutMs: 60_000, signal });
    if (result.code !== 0) throw new Error(`could not install the deploy helper in /run/fleet: ${result.stderr.trim() || `exit ${result.code}`}`);
    return parseHostState(result.stdout);
  }

  async state(signal?: AbortSignal): Promise<HostState> {
    const result = await this.helper(['state', ''], 60_000, signal);
    if (result.code !== 0) throw new Error(`could not read the host's state: ${result.stderr.trim() || `exit ${result.code}`}`);
    return parseHostState(result.stdout);
  }

  /**
   * Starts the activation (again: a no-op) and waits up to `seconds` while it runs. `bootId` is
   * the boot the deployer saw: a host that rebooted since starts nothing and says `rebooted`.
   */
  async start(spec: ActivationSpec, bootId: string | undefined, seconds: number, signal?: AbortSignal): Promise<WaitResult> {
    const args = [spec.id, spec.action, spec.system, spec.setProfile ? '1' : '0', spec.previous, spec.previousAction, String(spec.confirmSeconds), String(spec.limitSeconds)];
    const result = await this.helper(['start', String(seconds), bootId ?? '', ...args], seconds * 1000 + SSH_SLACK_MS, signal);
    if (result.code === 3) throw new Error(`another deployment is activating on this host (${result.stdout.trim()})`);
    if (result.code !== 0) throw new Error(`could not start the activation: ${(result.stdout + result.stderr).trim() || `exit ${result.code}`}`);
    return parseWaitOutput(result.stdout);
  }

  /** Confirms the activation (so the host keeps it) and waits for the host to acknowledge. */
  confirm(id: string, seconds: number, signal?: AbortSignal): Promise<WaitResult> {
    return this.waitCommand(['confirm', id, String(seconds)], seconds, signal);
  }

  /** Asks the host to roll back now and waits for the rollback to finish. */
  abort(id: string, seconds: number, signal?: AbortSignal): Promise<WaitResult> {
    return this.waitCommand(['abort', id, String(seconds)], seconds, signal);
  }

  async reboot(signal?: AbortSignal): Promise<void> {
    const result = await this.helper(['reboot'], 60_000, signal);
    if (result.code !== 0) throw new Error(`could not reboot: ${result.stderr.trim() || `exit ${result.code}`}`);
  }

  /** A command of ours on the host (argument vector, quoted for the remote shell). */
  run(argv: readonly string[], options: { input?: string; timeoutMs: number; signal?: AbortSignal }): Promise<ExecResult> {
    const elevated = this.target.user === 'root' ? argv : ['sudo', '-n', '--', ...argv];
    return this.session.run(this.target, elevated, options);
  }

  private helper(args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<ExecResult> {
    return this.run(['/bin/sh', HELPER_PATH, ...args], { timeoutMs, signal });
  }

  private async waitCommand(args: readonly string[], seconds: number, signal?: AbortSignal): Promise<WaitResult> {
    const result = await this.helper(args, seconds * 1000 + SSH_SLACK_MS, signal);
    if (result.code !== 0) throw new Error(`the deploy helper failed: ${result.stderr.trim() || `exit ${result.code}`}`);
    return parseWaitOutput(result.stdout);
  }
}
