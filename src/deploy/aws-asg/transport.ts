import { AutoScalingClient, type AutoScalingClientConfig } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { awsEndpointOf, awsRequestHandler, AWS_SERVICES } from '../../aws/request-handler.js';
import type { AsgTarget } from '../../fleet/types.js';
import type { HostResult, Limit } from '../../rollout/types.js';
import { systemClock } from '../../util/async.js';
import { UserError } from '../../util/errors.js';
import type { DeploySettings, HostJob, Transport } from '../types.js';
import { awsErrorMessage } from './errors.js';
import { describeGroup, desiredConfiguration, prepareLaunchTemplateVersion } from './launch-template.js';
import { planRefresh } from './preferences.js';
import { refreshOutcome, startInstanceRefresh, waitForInstanceRefresh } from './refresh.js';
import { runsWithoutBooting } from '../actions.js';
import type { AwsTransportOptions } from '../aws-transport.js';

export interface AsgClients {
  autoScaling: AutoScalingClient;
  ec2: EC2Client;
}

export interface AsgTransportOptions extends AwsTransportOptions {
  settings: Pick<DeploySettings, 'action' | 'rollback' | 'substituters'>;
  /** The rollout plan's sizes, applied inside each group: canary instances, then batches. */
  rollout?: { canary?: number; maxConcurrency?: Limit };
  /** OIDC role credentials (`createRefreshingCredentials`); the SDK's default chain when absent. */
  credentials?: AutoScalingClientConfig['credentials'];
  /** Injected in tests; otherwise clients are made per region with `credentials`. */
  clients?: (region: string) => AsgClients;
  /** Pause at each checkpoint (default 300 s). */
  checkpointDelaySeconds?: number;
  instanceWarmupSeconds?: number;
}

/**
 * Deploys `aws-asg` hosts (each is an Auto Scaling group): a launch template version whose
 * instance tags name the system, then an instance refresh to exactly that version (rolling,
 * skip matching, automatic rollback, checkpoints from the canary and batch sizes), waited for.
 * New instances converge at boot with host/aws/user-data.sh.
 */
export class AsgTransport implements Transport {
  readonly method = 'aws-asg' as const;
  private readonly clientsByRegion = new Map<string, AsgClients>();

  constructor(private readonly options: AsgTransportOptions) {
    const action = options.settings.action;
    if (runsWithoutBooting(action)) {
      throw new UserError(`action: aws-asg hosts get new instances that boot the system; "${action}" cannot be done by an instance refresh (use switch)`);
    }
    if (options.settings.substituters.length === 0) {
      throw new UserError('substituters: required for aws-asg hosts, whose new instances fetch the system from the cache (example: https://cache.example.org); the keys they trust come from the launch template\'s user data or the AMI');
    }
  }

  private clients(region: string): AsgClients {
    let clients = this.clientsByRegion.get(region);
    if (!clients) {
      const config = { region, ...(this.options.credentials ? { credentials: this.options.credentials } : {}) };
      clients = this.options.clients?.(region) ?? {
        autoScaling: new AutoScalingClient({ ...config, requestHandler: awsRequestHandler(awsEndpointOf(AWS_SERVICES.autoScaling, region)) }),
        ec2: new EC2Client({ ...config, requestHandler: awsRequestHandler(awsEndpointOf(AWS_SERVICES.ec2, region)) }),
      };
      this.clientsByRegion.set(region, clients);
    }
    return clients;
  }

  async deployHost(job: HostJob, signal?: AbortSignal): Promise<Omit<HostResult, 'batch'>> {
    const clock = this.options.clock ?? systemClock;
    const started = clock.now().getTime();
    const { host, system } = job;
    const log = this.options.log;
    const fail = (message: string, before?: string): Omit<HostResult, 'batch'> => ({
      host: host.name,
      outcome: 'failed',
      target: system,
      ...(before ? { before } : {}),
      durationMs: clock.now().getTime() - started,
      message,
    });
    if (host.deploy.method !== 'aws-asg') return fail(`host ${host.name} is deployed with ${host.deploy.method}, not aws-asg`);
    const target: AsgTarget = host.deploy;
    const region = target.region ?? this.options.region;
    if (!region) return fail(`aws-region: required for aws-asg host ${host.name} (or set deploy.region in the inventory; example: eu-west-1)`);
    const { autoScaling, ec2 } = this.clients(region);
    const group = target.autoScalingGroup;

    let before: string | undefined;
    try {
      const info = await describeGroup(autoScaling, group, target.launchTemplate);
      const plan = planRefresh({
        desiredCapacity: info.group.DesiredCapacity ?? 0,
        canary: this.options.rollout?.canary ?? 1,
        batch: this.options.rollout?.maxConcurrency ?? { percent: 25 },
        checkpointDelaySeconds: this.options.checkpointDelaySeconds ?? 300,
        rollback: this.options.settings.rollback,
        ...(this.options.instanceWarmupSeconds !== undefined ? { instanceWarmupSeconds: this.options.instanceWarmupSeconds } : {}),
      });
      const prepared = await prepareLaunchTemplateVersion(
        ec2,
        info,
        {
          host: host.name,
          system,
          substituters: this.options.settings.substituters,
          ...(this.options.commit ? { commit: this.options.commit } : {}),
        },
        log,
      );
      before = prepared.previousSystem;
      const id = await startInstanceRefresh(autoScaling, group, desiredConfiguration(info, prepared), plan.preferences);
      log.info(`${host.name}: instance refresh ${id} of ${group} (${region}) to launch template version ${prepared.version}: ${plan.description}`);
      const timeoutMs = this.options.timeoutMs ?? 60 * 60_000;
      const end = await waitForInstanceRefresh(autoScaling, group, id, {
        timeoutMs,
        ...(this.options.pollIntervalMs ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
        clock,
        ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
        ...(signal ? { signal } : {}),
        log,
      });
      const { outcome, message } = refreshOutcome(end, timeoutMs);
      const after = outcome === 'succeeded' ? system : outcome === 'rolled-back' ? before : undefined;
      return {
        host: host.name,
        outcome,
        target: system,
        ...(before ? { before } : {}),
        ...(after ? { after } : {}),
        durationMs: clock.now().getTime() - started,
        message: `${group}: ${message}`,
      };
    } catch (error) {
      return fail(`${group} (${region}): ${awsErrorMessage(error)}`, before);
    }
  }

  async close(): Promise<void> {
    for (const { autoScaling, ec2 } of this.clientsByRegion.values()) {
      autoScaling.destroy();
      ec2.destroy();
    }
    this.clientsByRegion.clear();
  }
}
