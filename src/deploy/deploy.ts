import type { DeployTarget, Host } from '../fleet/types.js';
import type { Nix } from '../nix/nix.js';
import { executeRollout, type RolloutReport } from '../rollout/execute.js';
import { formatPlanMarkdown, formatPlanText } from '../rollout/format.js';
import { planRollout, type RolloutPlan } from '../rollout/plan.js';
import type { HostResult, RolloutOptions } from '../rollout/types.js';
import { UserError } from '../util/errors.js';
import { consoleLog, type Log } from '../util/log.js';
import { resolveDeploySettings } from './settings.js';
import { checkSshTarget } from './ssh/config.js';
import type { SshSessionOptions } from './ssh/session.js';
import { SshTransport } from './ssh/transport.js';
import type { DeploySettings, Transport } from './types.js';

export interface DeployRequest {
  /** The selected hosts, in rollout order (the first `canary` of them form the canary batch). */
  hosts: Host[];
  /** Host name → the toplevel store path it gets. */
  systems: Record<string, string>;
  rollout?: RolloutOptions;
  settings?: Partial<DeploySettings>;
  /** For hosts deployed over ssh: the key, known_hosts, and a user replacing the inventory's. */
  ssh?: SshSessionOptions & { user?: string };
  log?: Log;
  /** Aborting lets the running batch finish and skips the rest. */
  signal?: AbortSignal;
  /** Called as each host finishes. */
  onResult?: (result: HostResult) => void;
  /** The runner's Nix (for `nix copy`). */
  nix?: Nix;
  /**
   * Open transports for methods other than ssh (e.g. a PullTransport for `pull` hosts); the
   * caller closes them. ssh hosts get an SshTransport that deploy() opens and closes itself.
   */
  transports?: Partial<Record<DeployTarget['method'], Transport>>;
}

export interface DeployPlan {
  plan: RolloutPlan<Host>;
  settings: DeploySettings;
  /** For the log. */
  text: string;
  /** For the job summary. */
  markdown: string;
}

export interface DeployReport extends RolloutReport {
  plan: RolloutPlan<Host>;
  settings: DeploySettings;
}

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$/;

/**
 * Checks everything that can be checked without touching a host (systems, deploy methods,
 * targets, settings) and makes the plan. `dry-run` stops here.
 */
export function planDeploy(request: DeployRequest): DeployPlan {
  const settings = resolveDeploySettings(request.settings);
  for (const host of request.hosts) {
    const system = request.systems[host.name];
    if (!system) throw new UserError(`host "${host.name}" has no system to deploy: give it in store-paths (or build it from the flake)`);
    if (!STORE_PATH.test(system)) throw new UserError(`store-paths: "${system}" for host "${host.name}" is not a store path (example: /nix/store/…-nixos-system-${host.name}-24.11)`);
    if (host.deploy.method !== 'ssh' && !request.transports?.[host.deploy.method]) {
      throw new UserError(`host "${host.name}" is deployed with ${host.deploy.method}, and this deploy has no ${host.deploy.method} transport (give its settings, or select ssh hosts only)`);
    }
    if (host.deploy.method === 'ssh') {
      const target = request.ssh?.user ? { ...host.deploy, user: request.ssh.user } : host.deploy;
      try {
        checkSshTarget(target, host.name);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
    }
  }
  let plan: RolloutPlan<Host>;
  try {
    plan = planRollout(request.hosts, request.rollout);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const details = { action: settings.action, targets: request.systems };
  return { plan, settings, text: formatPlanText(plan, details), markdown: formatPlanMarkdown(plan, details) };
}

/** Rolls the systems out: plan, then batches through each host's transport. */
export async function deploy(request: DeployRequest): Promise<DeployReport> {
  const log = request.log ?? consoleLog;
  const { plan, settings, text } = planDeploy(request);
  log.info(text);
  const slowChecks = settings.healthChecks.reduce((sum, c) => sum + c.timeoutMs, 0);
  if (settings.rollback === 'auto' && slowChecks > settings.confirmTimeoutMs) {
    log.warning('the health checks may take longer than confirm-timeout: a host rolls itself back when its checks outlast it');
  }

  const transports = new Map(Object.entries(request.transports ?? {}) as [DeployTarget['method'], Transport][]);
  let ssh: SshTransport | undefined;
  try {
    if (request.hosts.some((h) => h.deploy.method === 'ssh')) {
      const { user, ...options } = request.ssh ?? {};
      ssh = await SshTransport.open({ settings, log, ssh: options, user, nix: request.nix });
      transports.set('ssh', ssh);
    }
    const report = await executeRollout(
      plan,
      (host, _batch, signal) => (transports.get(host.deploy.method) as Transport).deployHost({ host, system: request.systems[host.name] as string }, signal),
      { log, signal: request.signal, onResult: request.onResult },
    );
    for (const result of report.results) result.target ??= request.systems[result.host];
    return { ...report, plan, settings };
  } finally {
    await ssh?.close();
  }
}
