import type { DeployTarget, Host } from '../fleet/types.js';
import type { HostResult } from '../rollout/types.js';
import type { Log } from '../util/log.js';

export const DEPLOY_ACTIONS = ['switch', 'boot', 'test', 'dry-activate', 'reboot'] as const;
/** What to do with the new system: NixOS's switch-to-configuration actions, plus `reboot` (boot, then reboot into it). */
export type DeployAction = (typeof DEPLOY_ACTIONS)[number];

export interface HealthCheck {
  /** A shell command run on the host (`sh -c`); exit 0 means healthy. */
  command: string;
  timeoutMs: number;
}

/** How every host of a deploy is treated, whatever its transport. */
export interface DeploySettings {
  action: DeployAction;
  /** `auto`: restore the exact previous system when anything fails, and arm the host's own timer. */
  rollback: 'auto' | 'off';
  /** How long a host waits for the deployer's confirmation before restoring the previous system itself. */
  confirmTimeoutMs: number;
  /** Time limit of one switch-to-configuration run on the host (and of fetching the closure from the caches there). */
  activationTimeoutMs: number;
  /** How long a host may take to come back after a reboot. */
  rebootTimeoutMs: number;
  /** Commands that must pass on each host after activation. */
  healthChecks: HealthCheck[];
  /** Also ask systemd (`systemctl is-system-running --wait`) where it runs: `degraded` marks the host degraded. */
  systemdHealthCheck: boolean;
  /** Caches the hosts substitute the closure from (with `trustedPublicKeys`); otherwise the runner copies it. */
  substituters: string[];
  trustedPublicKeys: string[];
  /** Free space that must remain on the host's /nix after the copy. */
  minFreeBytes: number;
  /** Connection attempts before a host counts as unreachable. */
  connectAttempts: number;
  retryDelayMs: number;
}

export const DEFAULT_DEPLOY_SETTINGS: DeploySettings = {
  action: 'switch',
  rollback: 'auto',
  confirmTimeoutMs: 90_000,
  activationTimeoutMs: 10 * 60_000,
  rebootTimeoutMs: 10 * 60_000,
  healthChecks: [],
  systemdHealthCheck: true,
  substituters: [],
  trustedPublicKeys: [],
  minFreeBytes: 256 * 1024 * 1024,
  connectAttempts: 3,
  retryDelayMs: 2_000,
};

/** One host's deployment: the host and the system it gets. */
export interface HostJob {
  host: Host;
  /** The toplevel store path. */
  system: string;
}

/**
 * A way of getting systems onto hosts: `ssh` now; `pull`, `aws-asg` and `aws-ssm` later, behind
 * the same interface. A transport never throws for a host's failure: it reports it in the result.
 */
export interface Transport {
  readonly method: DeployTarget['method'];
  deployHost(job: HostJob, signal?: AbortSignal): Promise<Omit<HostResult, 'batch'>>;
  close(): Promise<void>;
}

export interface TransportContext {
  settings: DeploySettings;
  log: Log;
}
