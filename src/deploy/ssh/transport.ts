import { randomBytes } from 'node:crypto';
import type { Host, SshTarget } from '../../fleet/types.js';
import { Nix } from '../../nix/nix.js';
import { shortStorePath } from '../../rollout/format.js';
import type { HostResult, Outcome } from '../../rollout/types.js';
import { sleep } from '../../util/async.js';
import { formatBytes } from '../../util/bytes.js';
import { formatDuration } from '../../util/duration.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import { activationSucceeded, classifyExitCode, logTail, type ActivationState, type WaitResult } from '../remote/activation.js';
import type { HostState } from '../remote/host-state.js';
import type { DeploySettings, HostJob, Transport, TransportContext } from '../types.js';
import { checkSshTarget } from './config.js';
import { runHealthChecks, type HealthReport } from './health.js';
import { RemoteHost, type ActivationSpec } from './remote-host.js';
import { SshConnectionError, SshSession, type SshSessionOptions } from './session.js';

export interface SshTransportOptions extends TransportContext {
  ssh: SshSessionOptions;
  /** Replaces every host's inventory user (the `ssh-user` input). */
  user?: string;
  /** The runner's Nix, for `nix copy`; a quiet default otherwise. */
  nix?: Nix;
}

type HostOutcome = Omit<HostResult, 'batch'>;

/** Deploys NixOS systems over ssh: copy, set the profile, activate through the host's helper, check, confirm or roll back. */
export class SshTransport implements Transport {
  readonly method = 'ssh' as const;
  private readonly session: SshSession;
  private readonly options: SshTransportOptions;
  private readonly nix: Nix;
  /** Closure sizes, asked once per system however many hosts get it. */
  private readonly closureSizes = new Map<string, Promise<number | undefined>>();

  private constructor(session: SshSession, options: SshTransportOptions) {
    this.session = session;
    this.options = options;
    this.nix = options.nix ?? new Nix({ log: quieter(options.log) });
  }

  static async open(options: SshTransportOptions): Promise<SshTransport> {
    if (options.ssh.privateKey) options.log.secret(options.ssh.privateKey);
    return new SshTransport(await SshSession.open(options.ssh), options);
  }

  /** The ssh target of a host, with the `ssh-user` override applied; throws for other methods or bad values. */
  targetOf(host: Host): SshTarget {
    if (host.deploy.method !== 'ssh') throw new Error(`host "${host.name}" is deployed with ${host.deploy.method}, not ssh`);
    const target = this.options.user ? { ...host.deploy, user: this.options.user } : host.deploy;
    checkSshTarget(target, host.name);
    return target;
  }

  deployHost(job: HostJob, signal?: AbortSignal): Promise<HostOutcome> {
    const log = prefixedLog(this.options.log, job.host.name);
    return new HostDeployment(this, job, this.options.settings, log, signal).run();
  }

  /** @internal */
  remote(host: Host): RemoteHost {
    return new RemoteHost(this.session, this.targetOf(host));
  }

  /** @internal Puts the closure on the host: from the caches when given (falling back to a copy), else `nix copy`. */
  async ensureClosure(host: RemoteHost, system: string, state: HostState, log: Log, signal?: AbortSignal): Promise<void> {
    if (state.present) return;
    const settings = this.options.settings;
    if (settings.substituters.length > 0) {
      const started = Date.now();
      const result = await host.run(
        [
          'nix-store',
          '--option', 'extra-substituters', settings.substituters.join(' '),
          '--option', 'extra-trusted-public-keys', settings.trustedPublicKeys.join(' '),
          '--realise', system,
        ],
        { timeoutMs: settings.activationTimeoutMs, signal },
      );
      if (result.code === 0) {
        log.info(`substituted the closure from the cache in ${formatDuration(Date.now() - started)}`);
        return;
      }
      const why = logTail(result.stderr, 2) || `exit ${result.code}`;
      if (!(await this.hasLocally(system))) throw new Error(`the host could not fetch the system from the cache: ${why}`);
      log.warning(`the host could not fetch the system from the cache (${why}); copying it from the runner instead`);
    }
    if (!(await this.hasLocally(system))) throw new Error(`${system} is not in the runner's store: build it first, or give substituters the hosts can fetch it from`);
    const size = await this.closureSize(system);
    if (size !== undefined && state.freeBytes !== undefined && state.freeBytes < size + settings.minFreeBytes) {
      throw new Error(
        `not enough space on the host's /nix: ${formatBytes(state.freeBytes)} free, the closure needs up to ${formatBytes(size)} plus ${formatBytes(settings.minFreeBytes)} to spare`,
      );
    }
    const started = Date.now();
    const store = this.session.nixStore(host.target);
    await this.nix.copy([system], { to: store.url, env: store.env, noCheckSigs: true, signal });
    log.info(`copied the closure${size === undefined ? '' : ` (up to ${formatBytes(size)})`} in ${formatDuration(Date.now() - started)}`);
  }

  private async hasLocally(system: string): Promise<boolean> {
    return (await this.nix.validPaths([system])).has(system);
  }

  private closureSize(system: string): Promise<number | undefined> {
    let size = this.closureSizes.get(system);
    if (!size) {
      size = this.nix.closureSize([system]).catch(() => undefined);
      this.closureSizes.set(system, size);
    }
    return size;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** The host could not be reached again before the deadline; its state is unknown. */
class LostContact extends Error {
  override name = 'LostContact';
}

/** One host's deploy, step by step. */
class HostDeployment {
  private readonly transport: SshTransport;
  private readonly job: HostJob;
  private readonly settings: DeploySettings;
  private readonly log: Log;
  private readonly signal: AbortSignal | undefined;
  private readonly started = Date.now();
  private remote!: RemoteHost;
  private before!: HostState;
  /** The host's state as the last confirm/abort printed it, saving a connection. */
  private lastSeen: HostState | undefined;
  /** Why contact was lost after activation began, for the message. */
  private lostContact: string | undefined;

  constructor(transport: SshTransport, job: HostJob, settings: DeploySettings, log: Log, signal?: AbortSignal) {
    this.transport = transport;
    this.job = job;
    this.settings = settings;
    this.log = log;
    this.signal = signal;
  }

  private get system(): string {
    return this.job.system;
  }

  private get action() {
    return this.settings.action;
  }

  private get rollbackEnabled(): boolean {
    return this.settings.rollback === 'auto' && this.action !== 'dry-activate';
  }

  async run(): Promise<HostOutcome> {
    try {
      this.remote = this.transport.remote(this.job.host);
    } catch (error) {
      return this.finish('failed', errorMessage(error));
    }
    try {
      this.before = await this.connect(() => this.remote.installAndState(this.system, this.signal));
    } catch (error) {
      if (error instanceof SshConnectionError) return this.finish('unreachable', `unreachable: ${error.message}`);
      return this.finish('failed', errorMessage(error));
    }
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
      return this.action === 'reboot' ? await this.rebootInto() : await this.activate();
    } catch (error) {
      if (error instanceof LostContact) return this.finish('unreachable', error.message);
      if (error instanceof SshConnectionError) return this.finish('unreachable', `lost SSH after the activation began; state unknown: ${error.message}`);
      return this.finish('failed', errorMessage(error));
    }
  }

  private preconditionProblem(): string | undefined {
    if (this.before.busy) return `another deployment (${this.before.busy}) is activating on this host`;
    if (!this.rollbackEnabled) return undefined;
    if (!this.previous()) {
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

  /** Whether this action goes through the system profile (and so does its rollback). */
  private usesProfile(): boolean {
    return this.action === 'switch' || this.action === 'boot' || this.action === 'reboot';
  }

  /** The exact path a rollback restores: the running system, or for boot the profile's. */
  private previous(): string | undefined {
    if (this.action === 'boot' || this.action === 'reboot') return this.before.profile ?? this.before.current;
    return this.before.current;
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
    if (this.action === 'dry-activate') {
      const outcome = verdict === 'ok' ? 'succeeded' : 'failed';
      return this.finish(outcome, `dry-activate exited with ${state.code}${settled.log ? `: ${logTail(settled.log, 5)}` : ''}`, await this.stateAfter());
    }
    if (!activationSucceeded(state.code)) {
      const why = verdict === 'timed-out'
        ? `switch-to-configuration ${action} did not finish within ${formatDuration(this.settings.activationTimeoutMs)}`
        : `switch-to-configuration ${action} exited with ${state.code}: ${logTail(settled.log) || 'no output'}`;
      return this.failAndRollBack(spec, why);
    }

    let health: HealthReport = {};
    if (action === 'switch' || action === 'test') {
      try {
        health = await runHealthChecks(this.remote, this.settings.healthChecks, { systemd: this.before.systemd && this.settings.systemdHealthCheck, signal: this.signal });
      } catch (error) {
        if (!(error instanceof SshConnectionError)) throw error;
        health = { failure: `lost SSH during the health checks (${error.message})` };
        this.lostContact = error.message;
      }
      if (health.failure) return this.failAndRollBack(spec, health.failure);
    }

    if (spec.confirmSeconds > 0) {
      const confirmed = await this.confirm(spec);
      if (confirmed.phase === 'rolled-back') return this.rolledBackByHost(confirmed);
    }
    const after = await this.stateAfter();
    const degraded = verdict === 'degraded' ? `switch-to-configuration ${action} exited with 4 (some units failed)` : health.degraded;
    const done = action === 'boot' ? `${shortStorePath(this.system)} is the boot default` : `${action === 'test' ? 'testing' : 'switched to'} ${shortStorePath(this.system)}`;
    const extra = verdict === 'needs-reboot' ? { needsReboot: true } : {};
    if (degraded) return this.finish('degraded', `${done}, but ${degraded}`, after, extra);
    const message = verdict === 'needs-reboot' ? `${done}; a reboot is needed to finish (switch-to-configuration exited with 100)` : done;
    return this.finish('succeeded', message, after, extra);
  }

  private spec(action: ActivationSpec['action'], system: string, setProfile: boolean, watchdog: boolean): ActivationSpec {
    const previousAction: ActivationSpec['previousAction'] = action === 'test' ? 'test' : action === 'switch' ? 'switch' : action === 'boot' ? 'boot' : '';
    return {
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      action,
      system,
      setProfile,
      previous: watchdog ? (this.previous() ?? '') : '',
      previousAction: watchdog ? previousAction : '',
      confirmSeconds: watchdog ? Math.max(1, Math.round(this.settings.confirmTimeoutMs / 1000)) : 0,
      limitSeconds: Math.max(1, Math.round(this.settings.activationTimeoutMs / 1000)),
    };
  }

  /** Starts an activation and waits until it has run (or, when contact is lost, until the host settled it). */
  private runActivation(spec: ActivationSpec): Promise<WaitResult> {
    this.log.info(`${spec.action} ${shortStorePath(spec.system)}${spec.confirmSeconds ? ` (rolls back by itself unless confirmed within ${spec.confirmSeconds}s)` : ''}`);
    return this.settle((seconds) => this.remote.start(spec, seconds, this.signal), ['starting', 'activating']);
  }

  /**
   * Repeats `poll` (each a long poll over a new connection; every helper command it uses is
   * idempotent) while the activation is in a `transient` state. Rides out lost connections until
   * a deadline that covers the activation, the confirm window and a rollback's activation.
   */
  private async settle(poll: (seconds: number) => Promise<WaitResult>, transient: readonly string[]): Promise<WaitResult> {
    const deadline = Date.now() + 2 * this.settings.activationTimeoutMs + this.settings.confirmTimeoutMs + 60_000;
    for (;;) {
      try {
        const result = await poll(Math.max(1, Math.min(15, Math.ceil((deadline - Date.now()) / 1000))));
        if (!transient.includes(result.state.phase) || Date.now() >= deadline) return result;
      } catch (error) {
        if (!(error instanceof SshConnectionError) || error.kind === 'host-key') throw error;
        if (!this.lostContact) this.log.warning(`lost contact (${error.message}); waiting for the host to come back`);
        this.lostContact = error.message;
        if (Date.now() >= deadline) throw new LostContact(`lost contact after the activation began and the host did not come back: ${error.message}`);
        await sleep(this.settings.retryDelayMs, this.signal);
      }
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
  private rolledBackByHost(state: Extract<ActivationState, { phase: 'rolled-back' }>): Promise<HostOutcome> {
    const why = this.lostContact
      ? `lost SSH after the activation (${this.lostContact}); the host rolled itself back after confirm-timeout ${formatDuration(this.settings.confirmTimeoutMs)}`
      : `no confirmation within confirm-timeout ${formatDuration(this.settings.confirmTimeoutMs)}; the host rolled itself back`;
    return this.verifyRollback(state.code === 0 ? why : `${why} (the activation had exited with ${state.code})`, state.rollbackCode);
  }

  private async verifyRollback(why: string, rollbackCode: number): Promise<HostOutcome> {
    const previous = this.previous() as string;
    const after = await this.stateAfter();
    // boot (and reboot before its reboot) only ever touched the profile; switch and test the running system.
    const bootOnly = this.action === 'boot' || this.action === 'reboot';
    const restored = bootOnly ? after.profile === previous : after.current === previous && (!this.usesProfile() || after.profile === previous);
    if (!restored) {
      const seen = bootOnly ? `the profile is ${after.profile ?? 'missing'}` : `/run/current-system is ${after.current ?? 'missing'}`;
      return this.finish('failed', `${why}; the rollback to ${previous} did not take: ${seen}`, after);
    }
    const note = activationSucceeded(rollbackCode) ? '' : ` (its activation exited with ${rollbackCode})`;
    return this.finish('rolled-back', `${why}; rolled back to ${shortStorePath(previous)}${note}`, after);
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

    const booted = await this.rebootAndWait(this.before.bootId);
    if (booted.current !== this.system) {
      return this.finish('failed', `after the reboot the host runs ${booted.current ?? 'nothing'}, not ${this.system}`, booted);
    }
    let health: HealthReport;
    try {
      health = await runHealthChecks(this.remote, this.settings.healthChecks, { systemd: booted.systemd && this.settings.systemdHealthCheck, signal: this.signal });
    } catch (error) {
      if (!(error instanceof SshConnectionError)) throw error;
      health = { failure: `lost SSH during the health checks (${error.message})` };
    }
    if (health.failure) {
      if (!this.rollbackEnabled) return this.finish('failed', health.failure, booted);
      return this.rollBackByReboot(health.failure, booted);
    }
    const message = `rebooted into ${shortStorePath(this.system)} (new boot id)`;
    return health.degraded ? this.finish('degraded', `${message}, but ${health.degraded}`, booted) : this.finish('succeeded', message, booted);
  }

  /** Reboots and waits for a new boot id (the helper is reinstalled: /run starts empty). */
  private async rebootAndWait(oldBootId: string | undefined): Promise<HostState> {
    this.log.info('rebooting');
    try {
      await this.remote.reboot(this.signal);
    } catch (error) {
      // The reboot may cut the connection before the command returns.
      if (!(error instanceof SshConnectionError)) throw error;
    }
    const deadline = Date.now() + this.settings.rebootTimeoutMs;
    let lastError = 'no answer yet';
    while (Date.now() < deadline) {
      await sleep(Math.min(this.settings.retryDelayMs, 1000), this.signal);
      try {
        const state = await this.remote.installAndState(this.system, this.signal);
        if (state.bootId && state.bootId !== oldBootId) {
          this.log.info(`back up (boot id ${state.bootId})`);
          return state;
        }
        lastError = 'still the old boot id';
      } catch (error) {
        if (!(error instanceof SshConnectionError) || error.kind === 'host-key') throw error;
        lastError = error.message;
      }
    }
    throw new LostContact(`the host did not come back within reboot-timeout ${formatDuration(this.settings.rebootTimeoutMs)} after rebooting (${lastError})`);
  }

  /** The new system booted but failed its checks: make the previous one the boot default again and reboot into it. */
  private async rollBackByReboot(why: string, booted: HostState): Promise<HostOutcome> {
    const previous = this.previous() as string;
    this.log.warning(`${why}; rebooting back into ${shortStorePath(previous)}`);
    const spec = this.spec('boot', previous, true, false);
    const settled = await this.runActivation(spec);
    if (settled.state.phase !== 'done' || !activationSucceeded(settled.state.code)) {
      return this.finish('failed', `${why}; making ${previous} the boot default failed: ${logTail(settled.log) || settled.state.phase}`, booted);
    }
    const after = await this.rebootAndWait(booted.bootId);
    if (after.current !== previous) return this.finish('failed', `${why}; after rebooting back the host runs ${after.current ?? 'nothing'}, not ${previous}`, after);
    return this.finish('rolled-back', `${why}; rebooted back into ${shortStorePath(previous)}`, after);
  }

  // ── plumbing ──

  /** Retries a first contact `connectAttempts` times (poor links drop connections); never retries a host key mismatch. */
  private async connect<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof SshConnectionError) || error.kind === 'host-key' || n >= this.settings.connectAttempts) throw error;
        this.log.debug(`connection attempt ${n} failed (${error.message}); retrying`);
        await sleep(this.settings.retryDelayMs * n, this.signal);
      }
    }
  }

  /** The host's state at the end (as the last confirm/abort reported it, or asked anew: after a lost connection that may take a while). */
  private async stateAfter(): Promise<HostState> {
    const seen = this.lastSeen;
    this.lastSeen = undefined;
    if (seen) return seen;
    const deadline = Date.now() + this.settings.confirmTimeoutMs + 60_000;
    for (;;) {
      try {
        return await this.remote.state(this.signal);
      } catch (error) {
        if (!(error instanceof SshConnectionError) || error.kind === 'host-key' || Date.now() >= deadline) throw error;
        await sleep(this.settings.retryDelayMs, this.signal);
      }
    }
  }

  private finish(outcome: Outcome, message: string, after?: HostState, extra: Partial<HostOutcome> = {}): HostOutcome {
    const result: HostOutcome = { host: this.job.host.name, outcome, target: this.system, durationMs: Date.now() - this.started, message, ...extra };
    if (this.before?.current) result.before = this.before.current;
    if (after?.current) result.after = after.current;
    if (after?.booted) result.booted = after.booted;
    if (after?.generation !== undefined) result.generation = after.generation;
    const level = outcome === 'succeeded' ? 'info' : 'warning';
    this.log[level](`${outcome}: ${message} (${formatDuration(result.durationMs)})`);
    return result;
  }
}

function prefixedLog(log: Log, host: string): Log {
  const p = (m: string) => `[${host}] ${m}`;
  return {
    debug: (m) => log.debug(p(m)),
    info: (m) => log.info(p(m)),
    warning: (m, where) => log.warning(p(m), where),
    error: (m, where) => log.error(p(m), where),
    group: (title, body) => log.group(p(title), body),
    secret: (v) => log.secret(v),
  };
}

/** Nix's progress lines (one per copied path) are detail here: many hosts copy at once. */
function quieter(log: Log): Log {
  return {
    debug: (m) => log.debug(m),
    info: (m) => log.debug(m),
    warning: (m, where) => log.warning(m, where),
    error: (m, where) => log.error(m, where),
    group: (title, body) => log.group(title, body),
    secret: (v) => log.secret(v),
  };
}
