import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import { awsEndpointOf, awsRequestHandler, AWS_SERVICES } from '../../aws/request-handler.js';
import type { SsmTarget } from '../../fleet/types.js';
import { formatLimit } from '../../rollout/limits.js';
import type { HostResult, Limit } from '../../rollout/types.js';
import { systemClock } from '../../util/async.js';
import { awsErrorMessage } from '../aws-asg/errors.js';
import type { DeploySettings, HostJob, Transport } from '../types.js';
import { listInvocations, sendCommand, waitForCommand } from './command.js';
import { commandTargets, DEPLOY_DOCUMENT_NAME, documentParameters } from './document.js';
import { classifyInvocation, summarizeInstances, type InstanceResult } from './invocations.js';
import type { AwsTransportOptions } from '../aws-transport.js';

export interface SsmTransportOptions extends AwsTransportOptions {
  settings: Pick<DeploySettings, 'action' | 'rollback' | 'substituters' | 'activationTimeoutMs'>;
  /** The plan's limits, handed to SSM, which applies them across the instances of each host entry. */
  rollout?: { maxConcurrency?: Limit; maxErrors?: Limit };
  credentials?: SSMClientConfig['credentials'];
  /** Injected in tests; otherwise a client per region with `credentials`. */
  clients?: (region: string) => SSMClient;
  /** Default `NixOS-Deploy` (host/aws/NixOS-Deploy.json, created in the account beforehand). */
  documentName?: string;
  documentVersion?: string;
  /** How long SSM may take to deliver the command to an instance (default 10 minutes). */
  deliveryTimeoutSeconds?: number;
  /** Run/commit for the command's comment (up to 100 characters). */
  comment?: string;
  /** Each instance's result, as the command finishes. */
  onInstanceResult?: (result: InstanceResult) => void;
}

/**
 * Deploys `aws-ssm` hosts: one SSM command (the NixOS-Deploy document) per inventory entry, sent
 * to its instance ids or tags with the plan's max-concurrency and max-errors, waited for, and
 * read back per instance. The entry's result is its worst instance; every instance's result is
 * kept (`instanceResults()`).
 */
export class SsmTransport implements Transport {
  readonly method = 'aws-ssm' as const;
  private readonly clientsByRegion = new Map<string, SSMClient>();
  private readonly instances = new Map<string, InstanceResult[]>();

  constructor(private readonly options: SsmTransportOptions) {}

  private client(region: string): SSMClient {
    let client = this.clientsByRegion.get(region);
    if (!client) {
      client =
        this.options.clients?.(region) ??
        new SSMClient({ region, requestHandler: awsRequestHandler(awsEndpointOf(AWS_SERVICES.ssm, region)), ...(this.options.credentials ? { credentials: this.options.credentials } : {}) });
      this.clientsByRegion.set(region, client);
    }
    return client;
  }

  async deployHost(job: HostJob, signal?: AbortSignal): Promise<Omit<HostResult, 'batch'>> {
    const clock = this.options.clock ?? systemClock;
    const started = clock.now().getTime();
    const { host, system } = job;
    const log = this.options.log;
    const fail = (message: string): Omit<HostResult, 'batch'> => ({ host: host.name, outcome: 'failed', target: system, durationMs: clock.now().getTime() - started, message });
    if (host.deploy.method !== 'aws-ssm') return fail(`host ${host.name} is deployed with ${host.deploy.method}, not aws-ssm`);
    const target: SsmTarget = host.deploy;
    const region = target.region ?? this.options.region;
    if (!region) return fail(`aws-region: required for aws-ssm host ${host.name} (or set deploy.region in the inventory; example: eu-west-1)`);
    const { settings } = this.options;
    const executionTimeoutSeconds = Math.ceil(settings.activationTimeoutMs / 1000);
    const deliveryTimeoutSeconds = this.options.deliveryTimeoutSeconds ?? 600;
    const maxConcurrency = formatLimit(this.options.rollout?.maxConcurrency ?? { percent: 25 });
    const maxErrors = formatLimit(this.options.rollout?.maxErrors ?? { count: 0 });
    const documentName = this.options.documentName ?? DEPLOY_DOCUMENT_NAME;
    const client = this.client(region);

    try {
      const parameters = documentParameters({
        system,
        substituters: settings.substituters,
        action: settings.action,
        rollback: settings.rollback,
        executionTimeoutSeconds,
      });
      const command = await sendCommand(client, {
        DocumentName: documentName,
        ...(this.options.documentVersion ? { DocumentVersion: this.options.documentVersion } : {}),
        ...commandTargets(target, host.name),
        Parameters: parameters,
        MaxConcurrency: maxConcurrency,
        MaxErrors: maxErrors,
        TimeoutSeconds: deliveryTimeoutSeconds,
        Comment: (this.options.comment ? `fleet ${host.name}: ${this.options.comment}` : `fleet deploy ${host.name}`).slice(0, 100),
      });
      const commandId = command.CommandId as string;
      log.info(`${host.name}: ${documentName} ${settings.action} sent to ${describeTargets(target)} in ${region} as command ${commandId} (max-concurrency ${maxConcurrency}, max-errors ${maxErrors})`);
      const timeoutMs = this.options.timeoutMs ?? (deliveryTimeoutSeconds + executionTimeoutSeconds + 300) * 1000;
      const end = await waitForCommand(client, commandId, {
        timeoutMs,
        ...(this.options.pollIntervalMs ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
        clock,
        ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
        ...(signal ? { signal } : {}),
        log,
        label: host.name,
      });
      const invocations = await listInvocations(client, commandId);
      const results = invocations.map((invocation) => classifyInvocation(invocation, host.name));
      // Instances named in the inventory that SSM never sent the command to (it stopped at max-errors).
      for (const id of target.instanceIds ?? []) {
        if (!results.some((r) => r.instanceId === id)) {
          results.push({ host: `${host.name}/${id}`, instanceId: id, outcome: 'skipped', durationMs: 0, message: `never sent: the command ended ${end.command.Status ?? ''} first`.trim() });
        }
      }
      results.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
      for (const result of results) this.options.onInstanceResult?.({ ...result, target: result.target ?? system });
      this.instances.set(host.name, results);
      const summary = summarizeInstances(host.name, results, system, clock.now().getTime() - started);
      const ended = end.timedOut ? `cancelled after ${Math.round(timeoutMs / 60_000)} min` : `${end.command.Status}`;
      return { ...summary, message: `command ${commandId} ${ended}; ${summary.message}` };
    } catch (error) {
      return fail(`SSM ${documentName} (${region}): ${awsErrorMessage(error)}`);
    }
  }

  /** Every instance's result so far, by inventory host. */
  instanceResults(): ReadonlyMap<string, readonly InstanceResult[]> {
    return this.instances;
  }

  async close(): Promise<void> {
    for (const client of this.clientsByRegion.values()) client.destroy();
    this.clientsByRegion.clear();
  }
}

function describeTargets(target: SsmTarget): string {
  if (target.instanceIds?.length) return target.instanceIds.join(', ');
  return Object.entries(target.tags ?? {})
    .map(([k, v]) => `tag ${k}=${v}`)
    .join(' and ');
}
