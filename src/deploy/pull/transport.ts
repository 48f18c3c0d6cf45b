import { parsePublicKey, parseSigningKey, type PublicKey, type SigningKey } from '../../cache/signing.js';
import type { BinaryCacheStore } from '../../cache/store.js';
import type { Host } from '../../fleet/types.js';
import type { HostResult } from '../../rollout/types.js';
import { systemClock, type Clock } from '../../util/async.js';
import { errorMessage, UserError } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import type { SshSession } from '../ssh/session.js';
import type { DeployAction, DeploySettings, HostJob, Transport } from '../types.js';
import { readReport, waitForConvergence, type WaitOptions } from './converge.js';
import type { ManifestAction } from './manifest.js';
import { prepareManifestStore, publishManifest, type PublishedManifest } from './publish.js';

export interface PullTransportOptions {
  /** The store the manifests go to and the reports come from (`openStore(url, { credentials })`). */
  store: BinaryCacheStore;
  /** The `manifest-signing-key` input (`name:base64`, as `nix key generate-secret` prints it). */
  signingKey: string | SigningKey;
  /** Public keys earlier manifests may be signed with (during a key rotation). */
  previousPublicKeys?: readonly string[];
  settings: Pick<DeploySettings, 'action' | 'rollback' | 'healthChecks'>;
  log: Log;
  /** The commit being deployed (GITHUB_SHA). */
  commit?: string;
  /** How long to wait for each host's report of the new system (the `wait` input); 0: publish only. */
  waitMs?: number;
  pollIntervalMs?: number;
  /** How long a manifest stays valid (default 30 days). */
  manifestLifetimeMs?: number;
  /** Manifests ask hosts to activate outside their activation window too (the `activate-now` input). */
  activateNow?: boolean;
  /**
   * The `nudge` input: after publishing, start the agent at once on hosts the inventory says ssh
   * reaches (`deploy: { method: pull, ssh: … }`), over this session; the transport closes it.
   */
  nudge?: SshSession;
  clock?: Clock;
  /** Injected in tests. */
  sleep?: WaitOptions['sleep'];
}

const PULL_ACTIONS: Readonly<Partial<Record<DeployAction, ManifestAction>>> = { switch: 'switch', boot: 'boot', reboot: 'reboot' };

/**
 * Deploys `pull` hosts: publishes a signed manifest per host, then (with `waitMs`) waits for the
 * host's agent to report the new system. A canary batch therefore really waits for its hosts
 * before the next batch's manifests are published.
 */
export class PullTransport implements Transport {
  readonly method = 'pull' as const;
  private readonly published = new Map<string, PublishedManifest>();

  private constructor(
    private readonly options: PullTransportOptions,
    private readonly signingKey: SigningKey,
    private readonly previousKeys: PublicKey[],
    private readonly action: ManifestAction,
  ) {}

  /** Checks the key and settings and prepares the store; nothing is published yet. */
  static async open(options: PullTransportOptions): Promise<PullTransport> {
    const action = PULL_ACTIONS[options.settings.action];
    if (!action) {
      throw new UserError(`action: pull hosts apply switch, boot or reboot; "${options.settings.action}" needs a deployer on the host (use ssh hosts for it)`);
    }
    let signingKey: SigningKey;
    try {
      signingKey = typeof options.signingKey === 'string' ? parseSigningKey(options.signingKey) : options.signingKey;
    } catch (error) {
      throw new UserError(`manifest-signing-key: ${errorMessage(error)}`);
    }
    const previousKeys = (options.previousPublicKeys ?? []).map((text) => {
      try {
        return parsePublicKey(text);
      } catch (error) {
        throw new UserError(`manifest public key: ${errorMessage(error)}`);
      }
    });
    if (options.settings.healthChecks.length > 0) {
      options.log.warning('health-checks run on ssh hosts only: pull hosts run the checks their agent is configured with (services.fleet-agent.healthChecks)');
    }
    await prepareManifestStore(options.store);
    return new PullTransport(options, signingKey, previousKeys, action);
  }

  async deployHost(job: HostJob, signal?: AbortSignal): Promise<Omit<HostResult, 'batch'>> {
    const { host, system } = job;
    const clock = this.options.clock ?? systemClock;
    const started = clock.now().getTime();
    const elapsed = () => clock.now().getTime() - started;
    let before: string | undefined;
    try {
      before = (await readReport(this.options.store, host.name))?.system;
    } catch (error) {
      this.options.log.warning(`${host.name}: ${errorMessage(error)}`);
    }
    let published: PublishedManifest;
    try {
      published = await publishManifest(
        {
          host: host.name,
          environment: host.environment,
          system,
          action: this.action,
          rollback: this.options.settings.rollback,
          ...(this.options.activateNow ? { activateNow: true } : {}),
          commit: this.options.commit ?? null,
          wave: host.wave ?? null,
          ...(this.options.manifestLifetimeMs ? { lifetimeMs: this.options.manifestLifetimeMs } : {}),
        },
        { store: this.options.store, signingKey: this.signingKey, previousKeys: this.previousKeys, clock, log: this.options.log },
      );
    } catch (error) {
      return { host: host.name, outcome: 'failed', target: system, ...(before ? { before } : {}), durationMs: elapsed(), message: errorMessage(error) };
    }
    this.published.set(host.name, published);
    const sequence = published.manifest.sequence;
    const nudged = this.options.nudge ? `; ${await this.nudge(host, this.options.nudge)}` : '';
    if (!this.options.waitMs) {
      return {
        host: host.name,
        outcome: 'succeeded',
        target: system,
        ...(before ? { before } : {}),
        durationMs: elapsed(),
        message: `manifest ${sequence} published${nudged || '; the host applies it on its next run'} (not waited for)`,
      };
    }
    const report = await waitForConvergence(
      this.options.store,
      [{ host: host.name, system, sequence, action: this.action, issuedAt: new Date(published.manifest.issuedAt), ...(before ? { before } : {}) }],
      {
        timeoutMs: this.options.waitMs,
        ...(this.options.pollIntervalMs ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
        clock,
        ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
        ...(signal ? { signal } : {}),
        log: this.options.log,
      },
    );
    const result = report.results[0] as Omit<HostResult, 'batch'>;
    return { ...result, durationMs: elapsed(), message: `manifest ${sequence}${nudged}: ${result.message}` };
  }

  /**
   * Starts the host's agent now (`systemctl start --no-block fleet-agent.service`, over ssh); what
   * happened, for the host's result. Best effort: a host not nudged still applies the manifest on
   * its timer, so this never fails the host.
   */
  private async nudge(host: Host, session: SshSession): Promise<string> {
    const target = host.deploy.method === 'pull' ? host.deploy.ssh : undefined;
    if (!target) {
      this.options.log.info(`${host.name}: not nudged: the inventory gives no ssh for it (deploy.ssh)`);
      return 'not nudged (no deploy.ssh in the inventory)';
    }
    try {
      const result = await session.run(target, ['systemctl', 'start', '--no-block', 'fleet-agent.service'], { timeoutMs: 60_000 });
      if (result.code !== 0) {
        this.options.log.warning(`${host.name}: not nudged: systemctl start fleet-agent exited ${result.code}`);
        return `not nudged (systemctl start fleet-agent exited ${result.code})`;
      }
      this.options.log.info(`${host.name}: nudged: its agent runs now`);
      return 'nudged: its agent runs now';
    } catch (error) {
      this.options.log.warning(`${host.name}: not nudged: ${errorMessage(error)}`);
      return `not nudged (${errorMessage(error)})`;
    }
  }

  /** The manifests published so far, by host (for outputs and the summary). */
  publishedManifests(): ReadonlyMap<string, PublishedManifest> {
    return this.published;
  }

  async close(): Promise<void> {
    // The store belongs to the caller; the nudge session is ours.
    await this.options.nudge?.close();
  }
}
