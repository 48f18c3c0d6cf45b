import { randomBytes } from 'node:crypto';
import { shortStorePath } from '../../rollout/format.js';
import type { HostResult, Outcome } from '../../rollout/types.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import { poll } from '../../util/poll.js';
import { retry, type RetryOptions } from '../../util/retry.js';
import { activationSucceeded, classifyExitCode, logTail, type ActivationState, type WaitResult } from './activation.js';
import type { HostState } from './host-state.js';
import { bootOnly, changesNothing, rollbackActionAfter, usesProfile } from '../actions.js';
import type { Host } from '../../fleet/types.js';
import type { DeploySettings, HostJob } from '../types.js';
import { runHealthChecks, type HealthReport } from './health.js';
import type { ActivationSpec, RemoteHost } from './remote-host.js';
import { SshConnectionError } from './session.js';

type HostOutcome = Omit<HostResult, 'batch'>;
type RolledBack = Extract<ActivationState, { phase: 'rolled-back' }>;

/** The host could not be reached again before the deadline; its state is unknown. */
class LostContact extends Error {
  override name = 'LostContact';
}

/** The host rebooted while an activation was under way: its helper and that activation are gone. */
class Rebooted extends Error {
  override name = 'Rebooted';
  readonly state: HostState;
  constructor(state: HostState) {
    super('the host rebooted during the deploy');
    this.state = state;
  }
}

/** A connection that failed or dropped may come back; a host key mismatch never does. */
function isConnectionLoss(error: unknown): error is SshConnectionError {
  return error instanceof SshConnectionError && error.kind !== 'host-key';
}

/** What a host's deployment needs of its transport: a connection, and the closure on the host. */
export interface HostAccess {
  remote(host: Host): RemoteHost;
  ensureClosure(host: RemoteHost, system: string, state: HostState, log: Log, signal?: AbortSignal): Promise<void>;
}

export interface HostDeploymentOptions {
  transport: HostAccess;
  job: HostJob;
  settings: DeploySettings;
  /** Prefixed with the host's name. */
  log: Log;
  signal?: AbortSignal;
}

/**
 * One host's deploy over ssh, step by step: pre-flight and before state, closure, activation
 * through the host's helper (which rolls back by itself unless confirmed), health checks,
 * confirmation over a new connection, or a rollback to the exact previous path that is then
 * verified.
 */
export class HostDeployment {
  private readonly transport: HostAccess;
  private readonly job: HostJob;
  private readonly settings: DeploySettings;
  private readonly log: Log;
  private readonly signal: AbortSignal | undefined;
  private readonly started = Date.now();
  private remote!: RemoteHost;
  private before!: HostState;
  /** The boot the deployer last saw; another one means the host rebooted. */
  private bootId: string | undefined;
  /** The host's state as the last confirm/abort printed it, saving a connection. */
  private lastSeen: HostState | undefined;
  /** Why contact was lost after the activation began, for the message. */
  private lostContact: string | undefined;

  constructor(options: HostDeploymentOptions) {
    this.transport = options.transport;
    this.job = options.job;
    this.settings = options.settings;
    this.log = options.log;
    this.signal = options.signal;
  }

  private get system(): string {
    return this.job.system;
  }

  private get action() {
    return this.settings.action;
  }

  private get rollbackEnabled(): boolean {
    return this.settings.rollback === 'auto' && !changesNothing(this.action);
  }

  async run(): Promise<HostOutcome> {
    try {
      this.remote = this.transport.remote(this.job.host);
      this.before = await this.connect(() => this.remote.installAndState(this.system, this.signal));
    } catch (error) {
      if (error instanceof SshConnectionError) return this.finish('unreachable', `unreachable: ${error.message}`);
      return this.finish('failed', errorMessage(error));
    }
    this.bootId = this.before.bootId;
    this.log.info(`running ${shortStorePath(this.before.current) || '(no current system)'}, generation ${this.before.generation ?? '?'}`);

    const refusal = this.preconditionProblem();
    if (refusal) return this.finish('failed', refusal, this.before);
    if (this.alreadyDone()) return this.finish('succeeded', `already on ${shortStorePath(this.system)}: nothing to do`, this.before);

    try {
      await this.transport.ensureClosure(this.remote, this.system, this.before, this.log, this.signal);
    } catch (error) {
      if (error instanceof SshConnectionError) return this.finish('unreachable', `unreachable while copying: ${error.message}`, this.before);
      return this.finish('failed', errorMessage(error), this.before);
    }

    try {
      try {
        return this.action === 'reboot' ? await this.rebootInto() : await this.activate();
      } catch (error) {
        if (error instanceof Rebooted) return await this.recoverFromReboot(error.state);
        throw error;
      }
    } catch (error) {
      if (error instanceof LostContact) return this.finish('unreachable', error.message);
      if (error instanceof SshConnectionError) return this.finish('unreachable', `lost SSH after the activation began; state unknown: ${error.message}`);
      return this.finish('failed', errorMessage(error));
    }
  }

  private preconditionProblem(): string | undefined {
    if (this.before.busy) return `another deployment (${this.before.busy}) is activating on this host`;
    if (this.rollbackEnabled && !this.previous()) {
      return `nothing to roll back to (${this.usesProfile() ? 'no system profile' : 'no /run/current-system'}); set rollback: off to deploy anyway`;
    }
    return undefined;
  }

  private alreadyDone(): boolean {
    const { current, profile, booted } = this.before;
    switch (this.action) {
      case 'switch':
        return current === this.system && profile === this.system;
      case 'test':
        return current === this.system;
      case 'boot':
        return profile === this.system;
      case 'reboot':
        return current === this.system && profile === this.system && booted === this.system;
      case 'dry-activate':
        return false;
    }
  }

  private usesProfile(): boolean {
    return usesProfile(this.action);
  }

  private bootOnly(): boolean {
    return bootOnly(this.action);
  }

  /** The exact path a rollback restores: the running system, or for boot the profile's. */
  private previous(): string | undefined {
    return this.bootOnly() ? (this.before.profile ?? this.before.current) : this.before.current;
  }

  /** How a rollback activates the previous path. */
  private previousAction(): 'switch' | 'test' | 'boot' {
    return rollbackActionAfter(this.action);
  }

  // ── switch, test, boot, dry-activate ──

  private async activate(): Promise<HostOutcome> {
    const action = this.action as ActivationSpec['action'];
    const spec = this.spec(action, this.system, this.usesProfile(), this.rollbackEnabled);
    const settled = await this.runActivation(spec);
    const state = settled.state;
    if (state.phase === 'rolled-back') return this.rolledBackByHost(state);
    if (state.phase !== 'activated' && state.phase !== 'done') return this.finish('failed', `the activation did not run (${state.phase}): ${logTail(settled.log)}`);

    const verdict = classifyExitCode(state.code);
    if (action === 'dry-activate') {
      const outcome = verdict === 'ok' ? 'succeeded' : 'failed';
      return this.finish(outcome, `dry-activate exited with ${state.code}${settled.log ? `: ${logTail(settled.log, 5)}` : ''}`, await this.stateAfter());
    }
    if (!activationSucceeded(state.code)) {
      const why =
        verdict === 'timed-out'
          ? `switch-to-configuration ${action} did not finish within ${formatDuration(this.settings.activationTimeoutMs)}`
          : `switch-to-configuration ${action} exited with ${state.code}: ${logTail(settled.log) || 'no output'}`;
      return this.failAndRollBack(spec, why);
    }

    let health: HealthReport = {};
    if (action === 'switch' || action === 'test') {
      health = await this.checkHealth(this.before.systemd);
      if (health.failure) return this.failAndRollBack(spec, health.failure);
    }
    if (spec.confirmSeconds > 0) {
      const confirmed = await this.confirm(spec);
      if (confirmed.phase === 'rolled-back') return this.rolledBackByHost(confirmed);
    }

    const after = await this.stateAfter();
    const done = action === 'boot' ? `${shortStorePath(this.system)} is the boot default` : `${action === 'test' ? 'testing' : 'switched to'} ${shortStorePath(this.system)}`;
    const degraded = verdict === 'degraded' ? `switch-to-configuration ${action} exited with 4 (some units failed)` : health.degraded;
    const extra = verdict === 'needs-reboot' ? { needsReboot: true } : {};
    if (degraded) return this.finish('degraded', `${done}, but ${degraded}`, after, extra);
    const message = verdict === 'needs-reboot' ? `${done}; a reboot is needed to finish (switch-to-configuration exited with 100)` : done;
    return this.finish('succeeded', message, after, extra);
  }

  private spec(action: ActivationSpec['action'], system: string, setProfile: boolean, watchdog: boolean): ActivationSpec {
    return {
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      action,
      system,
      setProfile,
      previous: watchdog ? (this.previous() ?? '') : '',
      previousAction: watchdog ? this.previousAction() : '',
      confirmSeconds: watchdog ? Math.max(1, Math.round(this.settings.confirmTimeoutMs / 1000)) : 0,
      limitSeconds: Math.max(1, Math.round(this.settings.activationTimeoutMs / 1000)),
    };
  }

  /** Starts an activation and waits until it has run (or, when contact is lost, until the host settled it). */
  private runActivation(spec: ActivationSpec): Promise<WaitResult> {
    this.log.info(`${spec.action} ${shortStorePath(spec.system)}${spec.confirmSeconds ? ` (rolls back by itself unless confirmed within ${spec.confirmSeconds}s)` : ''}`);
    return this.settle((seconds) => this.remote.start(spec, this.bootId, seconds, this.signal), ['starting', 'activating']);
  }

  /**
   * Repeats `longPoll` (over a new connection; every helper command it uses is idempotent) while
   * the activation is in a `transient` state. Rides out lost connections until a deadline that
   * covers the activation, the confirm window and a rollback's activation; after one it
   * reinstalls the helper first, which also tells whether the host rebooted meanwhile.
   */
  private async settle(longPoll: (seconds: number) => Promise<WaitResult>, transient: readonly string[]): Promise<WaitResult> {
    let reconnecting = false;
    const pollOnce = async (deadline: number): Promise<WaitResult> => {
      try {
        if (reconnecting) {
          const state = await this.remote.installAndState(this.system, this.signal);
          if (state.bootId && this.bootId && state.bootId !== this.bootId) throw new Rebooted(state);
          reconnecting = false;
        }
        const result = await longPoll(Math.max(1, Math.min(15, Math.ceil((deadline - Date.now()) / 1000))));
        if (result.state.phase === 'rebooted') throw new Rebooted(await this.remote.state(this.signal));
        return result;
      } catch (error) {
        if (isConnectionLoss(error)) {
          if (!this.lostContact) this.log.warning(`lost contact (${error.message}); waiting for the host to come back`);
          this.lostContact = error.message;
          reconnecting = true;
        }
        throw error;
      }
    };
    const settled = await poll(
      (deadline) =>
        retry(() => pollOnce(deadline), {
          ...this.reconnectingUntil(deadline),
          exhaustedError: (error) => new LostContact(`lost contact after the activation began and the host did not come back: ${errorMessage(error)}`),
        }),
      {
        isDone: (result) => !transient.includes(result.state.phase),
        timeoutMs: 2 * this.settings.activationTimeoutMs + this.settings.confirmTimeoutMs + 60_000,
        intervalMs: 0,
      },
    );
    return settled.value;
  }

  private async checkHealth(systemd: boolean): Promise<HealthReport> {
    try {
      return await runHealthChecks(this.remote, this.settings.healthChecks, { systemd: systemd && this.settings.systemdHealthCheck, signal: this.signal });
    } catch (error) {
      if (!(error instanceof SshConnectionError)) throw error;
      this.lostContact = error.message;
      return { failure: `lost SSH during the health checks (${error.message})` };
    }
  }

  private async confirm(spec: ActivationSpec): Promise<ActivationState> {
    const result = await this.settle((seconds) => this.remote.confirm(spec.id, seconds, this.signal), ['activated', 'rolling-back']);
    this.lastSeen = result.host;
    if (result.state.phase === 'confirmed' || result.state.phase === 'rolled-back') {
      this.log.info(result.state.phase === 'confirmed' ? 'confirmed over a new connection' : 'the host had already rolled back');
      return result.state;
    }
    throw new Error(`unexpected state after confirming: ${result.state.phase}`);
  }

  /** Asks the host's helper to restore the previous system now, then checks it did. */
  private async failAndRollBack(spec: ActivationSpec, why: string): Promise<HostOutcome> {
    if (spec.confirmSeconds === 0) return this.finish('failed', why, await this.stateAfter());
    this.log.warning(`${why}; rolling back to ${shortStorePath(spec.previous)}`);
    const result = await this.settle((seconds) => this.remote.abort(spec.id, seconds, this.signal), ['activated', 'rolling-back']);
    this.lastSeen = result.host;
    if (result.state.phase !== 'rolled-back') throw new Error(`${why}; the rollback did not happen (state ${result.state.phase})`);
    return this.verifyRollback(why, result.state.rollbackCode);
  }

  /** The host restored the previous system by itself: nobody confirmed in time. */
  private rolledBackByHost(state: RolledBack): Promise<HostOutcome> {
    const timeout = formatDuration(this.settings.confirmTimeoutMs);
    const why = this.lostContact
      ? `lost SSH after the activation (${this.lostContact}); the host rolled itself back after confirm-timeout ${timeout}`
      : `no confirmation within confirm-timeout ${timeout}; the host rolled itself back`;
    return this.verifyRollback(state.code === 0 ? why : `${why} (the activation had exited with ${state.code})`, state.rollbackCode);
  }

  private async verifyRollback(why: string, rollbackCode: number): Promise<HostOutcome> {
    const previous = this.previous() as string;
    const after = await this.stateAfter();
    const restored = this.bootOnly() ? after.profile === previous : after.current === previous && (!this.usesProfile() || after.profile === previous);
    if (!restored) {
      const seen = this.bootOnly() ? `the profile is ${after.profile ?? 'missing'}` : `/run/current-system is ${after.current ?? 'missing'}`;
      return this.finish('failed', `${why}; the rollback to ${previous} did not take: ${seen}`, after);
    }
    const note = activationSucceeded(rollbackCode) ? '' : ` (its activation exited with ${rollbackCode})`;
    return this.finish('rolled-back', `${why}; rolled back to ${shortStorePath(previous)}${note}`, after);
  }

  /**
   * The host rebooted mid-deploy (power loss, a hardware watchdog): the helper's timer died with
   * it, and the host came back with whatever the boot loader held. With rollback on, activate the
   * previous path again, as the timer would have.
   */
  private async recoverFromReboot(state: HostState): Promise<HostOutcome> {
    this.bootId = state.bootId;
    const why = `the host rebooted during the deploy and came back running ${shortStorePath(state.current) || 'nothing'}`;
    this.log.warning(why);
    if (!this.rollbackEnabled || this.action === 'reboot') return this.finish('failed', why, state);
    const spec = this.spec(this.previousAction(), this.previous() as string, this.usesProfile(), false);
    const settled = await this.runActivation(spec);
    if (settled.state.phase !== 'done') return this.finish('failed', `${why}; restoring the previous system did not run (${settled.state.phase})`, state);
    return this.verifyRollback(why, settled.state.code);
  }

  // ── reboot ──

  private async rebootInto(): Promise<HostOutcome> {
    const spec = this.spec('boot', this.system, true, this.rollbackEnabled);
    const settled = await this.runActivation(spec);
    const state = settled.state;
    if (state.phase === 'rolled-back') return this.rolledBackByHost(state);
    if (state.phase !== 'activated' && state.phase !== 'done') return this.finish('failed', `the activation did not run (${state.phase}): ${logTail(settled.log)}`);
    if (!activationSucceeded(state.code)) {
      return this.failAndRollBack(spec, `switch-to-configuration boot exited with ${state.code}: ${logTail(settled.log) || 'no output'}`);
    }
    if (spec.confirmSeconds > 0) {
      const confirmed = await this.confirm(spec);
      if (confirmed.phase === 'rolled-back') return this.rolledBackByHost(confirmed);
    }

    const booted = await this.rebootAndWait();
    if (booted.current !== this.system) {
      return this.finish('failed', `after the reboot the host runs ${booted.current ?? 'nothing'}, not ${this.system}`, booted);
    }
    const health = await this.checkHealth(booted.systemd);
    if (health.failure) {
      if (!this.rollbackEnabled) return this.finish('failed', health.failure, booted);
      return this.rollBackByReboot(health.failure, booted);
    }
    const message = `rebooted into ${shortStorePath(this.system)} (new boot id)`;
    return health.degraded ? this.finish('degraded', `${message}, but ${health.degraded}`, booted) : this.finish('succeeded', message, booted);
  }

  /** Reboots and waits for a new boot id (the helper is reinstalled: /run starts empty). */
  private async rebootAndWait(): Promise<HostState> {
    this.log.info('rebooting');
    try {
      await this.remote.reboot(this.signal);
    } catch (error) {
      // The reboot may cut the connection before the command returns.
      if (!(error instanceof SshConnectionError)) throw error;
    }
    const pauseMs = Math.min(this.settings.retryDelayMs, 1000);
    let lastError = 'no answer yet';
    const end = await poll(
      async () => {
        try {
          const state = await this.remote.installAndState(this.system, this.signal);
          lastError = 'still the old boot id';
          return state;
        } catch (error) {
          if (!isConnectionLoss(error)) throw error;
          lastError = error.message;
          return undefined;
        }
      },
      {
        isDone: (state) => Boolean(state?.bootId) && state?.bootId !== this.bootId,
        timeoutMs: this.settings.rebootTimeoutMs,
        initialDelayMs: pauseMs,
        intervalMs: pauseMs,
        signal: this.signal,
      },
    );
    const state = end.value;
    if (end.ended === 'done' && state) {
      this.log.info(`back up (boot id ${state.bootId})`);
      this.bootId = state.bootId;
      return state;
    }
    this.signal?.throwIfAborted();
    throw new LostContact(`the host did not come back within reboot-timeout ${formatDuration(this.settings.rebootTimeoutMs)} after rebooting (${lastError})`);
  }

  /** The new system booted but failed its checks: make the previous one the boot default again and reboot into it. */
  private async rollBackByReboot(why: string, booted: HostState): Promise<HostOutcome> {
    const previous = this.previous() as string;
    this.log.warning(`${why}; rebooting back into ${shortStorePath(previous)}`);
    const settled = await this.runActivation(this.spec('boot', previous, true, false));
    if (settled.state.phase !== 'done' || !activationSucceeded(settled.state.code)) {
      return this.finish('failed', `${why}; making ${previous} the boot default failed: ${logTail(settled.log) || settled.state.phase}`, booted);
    }
    const after = await this.rebootAndWait();
    if (after.current !== previous) return this.finish('failed', `${why}; after rebooting back the host runs ${after.current ?? 'nothing'}, not ${previous}`, after);
    return this.finish('rolled-back', `${why}; rebooted back into ${shortStorePath(previous)}`, after);
  }

  // ── plumbing ──

  /** Retries a first contact `connectAttempts` times (poor links drop connections); never retries a host key mismatch. */
  private connect<T>(contact: () => Promise<T>): Promise<T> {
    return retry(contact, {
      attempts: this.settings.connectAttempts,
      isRetryable: isConnectionLoss,
      delayMs: (retryIndex) => this.settings.retryDelayMs * (retryIndex + 1),
      onRetry: ({ error, attempt }) => this.log.debug(`connection attempt ${attempt} failed (${errorMessage(error)}); retrying`),
      signal: this.signal,
    });
  }

  /** Rides out lost connections until `deadline`, `retry-delay` apart. */
  private reconnectingUntil(deadline: number): RetryOptions {
    return { attempts: Infinity, deadline, isRetryable: isConnectionLoss, delayMs: () => this.settings.retryDelayMs, signal: this.signal };
  }

  /** The host's state at the end: as the last confirm/abort reported it, or asked anew (after a lost connection that may take a while). */
  private async stateAfter(): Promise<HostState> {
    const seen = this.lastSeen;
    this.lastSeen = undefined;
    if (seen) return seen;
    return retry(() => this.remote.state(this.signal), this.reconnectingUntil(Date.now() + this.settings.confirmTimeoutMs + 60_000));
  }

  private finish(outcome: Outcome, message: string, after?: HostState, extra: Partial<HostOutcome> = {}): HostOutcome {
    const result: HostOutcome = { host: this.job.host.name, outcome, target: this.system, durationMs: Date.now() - this.started, message, ...extra };
    if (this.before?.current) result.before = this.before.current;
    if (after?.current) result.after = after.current;
    if (after?.booted) result.booted = after.booted;
    if (after?.generation !== undefined) result.generation = after.generation;
    if (outcome === 'succeeded') this.log.info(`${outcome}: ${message} (${formatDuration(result.durationMs)})`);
    else this.log.warning(`${outcome}: ${message} (${formatDuration(result.durationMs)})`);
    return result;
  }
}
