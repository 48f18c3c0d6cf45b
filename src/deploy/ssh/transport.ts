import type { Host, SshTarget } from '../../fleet/types.js';
import { Nix } from '../../nix/nix.js';
import type { HostResult } from '../../rollout/types.js';
import { formatBytes } from '../../util/bytes.js';
import { formatDuration } from '../../util/duration.js';
import type { Log } from '../../util/log.js';
import { logTail } from './activation.js';
import { agentKeyLifetimeSeconds } from './agent.js';
import type { HostState } from './host-state.js';
import type { HostJob, Transport, TransportContext } from '../types.js';
import { checkSshTarget } from './config.js';
import { HostDeployment, type HostAccess } from './host-deployment.js';
import { RemoteHost } from './remote-host.js';
import { SshSession, type SshSessionOptions } from './session.js';

export interface SshTransportOptions extends TransportContext {
  ssh: SshSessionOptions;
  /** Replaces every host's inventory user (the `ssh-user` input). */
  user?: string;
  /** The runner's Nix, for `nix copy`; a quiet default otherwise. */
  nix?: Nix;
}

/** Deploys NixOS systems over ssh: copy, set the profile, activate through the host's helper, check, confirm or roll back. */
export class SshTransport implements Transport, HostAccess {
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
    return new SshTransport(await SshSession.open({ keyLifetimeSeconds: agentKeyLifetimeSeconds(options.settings), ...options.ssh }), options);
  }

  /** The ssh target of a host, with the `ssh-user` override applied; throws for other methods or bad values. */
  targetOf(host: Host): SshTarget {
    if (host.deploy.method !== 'ssh') throw new Error(`host "${host.name}" is deployed with ${host.deploy.method}, not ssh`);
    const target = this.options.user ? { ...host.deploy, user: this.options.user } : host.deploy;
    checkSshTarget(target, host.name);
    return target;
  }

  /** Deploys one host; never throws for the host's failures, which its result describes. */
  deployHost(job: HostJob, signal?: AbortSignal): Promise<Omit<HostResult, 'batch'>> {
    const log = prefixedLog(this.options.log, job.host.name);
    return new HostDeployment({ transport: this, job, settings: this.options.settings, log, signal }).run();
  }

  /** The helper's commands on a host, over this transport's session. */
  remote(host: Host): RemoteHost {
    return new RemoteHost(this.session, this.targetOf(host));
  }

  /** Puts the closure on the host: from the caches when given (falling back to a copy), else `nix copy`. */
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

function prefixedLog(log: Log, host: string): Log {
  const p = (m: string) => `[${host}] ${m}`;
  return {
    debug: (m) => log.debug(p(m)),
    info: (m) => log.info(p(m)),
    quoted: (text) => log.quoted(text.split('\n').map(p).join('\n')),
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
    // Debug lines go out as escaped command data: nothing in them can act as a command.
    quoted: (text) => {
      for (const line of text.split('\n')) log.debug(line);
    },
    warning: (m, where) => log.warning(m, where),
    error: (m, where) => log.error(m, where),
    group: (title, body) => log.group(title, body),
    secret: (v) => log.secret(v),
  };
}
