import { randomUUID } from 'node:crypto';
import { documentScript } from './ssm-agent.js';
import { AwsFault } from './wire.js';

/** A command document as `aws ssm create-document` takes it (the part SSM Agent reads). */
export interface CommandDocument {
  parameters: Record<string, { default?: string; allowedPattern?: string; allowedValues?: string[] }>;
  mainSteps: { name: string; inputs: { runCommand: string[] } }[];
}

/** A managed instance: its tags, and a shell SSM Agent runs the document's script in. */
export interface ManagedInstance {
  id: string;
  tags: Record<string, string>;
  run(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
}

type Status = 'Pending' | 'InProgress' | 'Success' | 'Failed';

interface Invocation {
  instanceId: string;
  status: Status;
  code?: number;
  output?: string;
  started?: Date;
  finished?: Date;
}

interface CommandRecord {
  id: string;
  document: string;
  parameters: Record<string, string[]>;
  requested: Date;
  /** The document's step, which names the plugin output. */
  step: string;
  invocations: Invocation[];
  request: Record<string, unknown>;
}

/** SSM Agent returns at most this much of a step's output through the API. */
const OUTPUT_LIMIT = 2500;

/**
 * Run Command in one account: SendCommand runs the document on each target the way SSM Agent does
 * (parameters checked against the document, `{{ name }}` replaced, SSM_<name> set for ENV_VAR
 * interpolation), ListCommands and ListCommandInvocations report it, CancelCommand stops what has not
 * started. Commands run in the background; their state is what the API shows when asked.
 */
export class SsmAccount {
  private readonly commands: CommandRecord[] = [];
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly documents: Record<string, CommandDocument>,
    private readonly instances: readonly ManagedInstance[],
  ) {}

  /** Every SendCommand, oldest first, as it arrived. */
  sent(): { document: string; parameters: Record<string, string[]>; instanceIds: string[]; request: Record<string, unknown> }[] {
    return this.commands.map((c) => ({ document: c.document, parameters: c.parameters, instanceIds: c.invocations.map((i) => i.instanceId), request: c.request }));
  }

  /** Waits for every command's scripts to end (for a clean stop). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.running);
  }

  /** The JSON 1.1 actions; `resource` is what IAM would check (the instances). */
  handle(action: string, body: Record<string, unknown>): { resource: string; result: () => unknown } {
    switch (action) {
      case 'SendCommand': {
        const targets = this.targets(body);
        return { resource: targets.map((t) => t.id).join(','), result: () => ({ Command: this.describe(this.send(body, targets)) }) };
      }
      case 'ListCommands': {
        const command = this.command(String(body.CommandId ?? ''));
        return { resource: command.invocations.map((i) => i.instanceId).join(','), result: () => ({ Commands: [this.describe(command)] }) };
      }
      case 'ListCommandInvocations': {
        const command = this.command(String(body.CommandId ?? ''));
        return {
          resource: command.invocations.map((i) => i.instanceId).join(','),
          result: () => ({ CommandInvocations: command.invocations.map((i) => this.describeInvocation(command, i, body.Details === true)) }),
        };
      }
      case 'CancelCommand': {
        const command = this.command(String(body.CommandId ?? ''));
        return {
          resource: command.invocations.map((i) => i.instanceId).join(','),
          result: () => {
            for (const i of command.invocations) if (i.status === 'Pending') Object.assign(i, { status: 'Failed', output: 'Cancelled' });
            return {};
          },
        };
      }
      default:
        throw new AwsFault(400, 'UnknownOperationException', `Unknown operation ${action}`);
    }
  }

  private targets(body: Record<string, unknown>): ManagedInstance[] {
    const ids = (body.InstanceIds as string[] | undefined) ?? [];
    const tagTargets = (body.Targets as { Key: string; Values: string[] }[] | undefined) ?? [];
    if (ids.length > 0) {
      const unknown = ids.filter((id) => !this.instances.some((i) => i.id === id));
      if (unknown.length > 0) throw new AwsFault(400, 'InvalidInstanceId', `Instances [${unknown.join(', ')}] not in a valid state for account 123456789012`);
      return ids.map((id) => this.instances.find((i) => i.id === id) as ManagedInstance);
    }
    return this.instances.filter((i) => tagTargets.every((t) => t.Key.startsWith('tag:') && t.Values.includes(i.tags[t.Key.slice(4)] ?? '')));
  }

  private send(body: Record<string, unknown>, targets: ManagedInstance[]): CommandRecord {
    const name = String(body.DocumentName ?? '');
    const document = this.documents[name];
    if (!document) throw new AwsFault(400, 'InvalidDocument', `Document with name ${name} does not exist.`);
    const given = (body.Parameters as Record<string, string[]> | undefined) ?? {};
    const values: Record<string, string> = {};
    for (const [key, spec] of Object.entries(document.parameters)) {
      const value = given[key]?.join(' ') ?? spec.default;
      if (value === undefined) throw new AwsFault(400, 'InvalidParameters', `Missing required parameter ${key}.`);
      if (spec.allowedPattern && !new RegExp(spec.allowedPattern).test(value)) throw new AwsFault(400, 'InvalidParameters', `Parameter "${key}" "${value}" failed to satisfy constraint: ${spec.allowedPattern}`);
      if (spec.allowedValues && !spec.allowedValues.includes(value)) throw new AwsFault(400, 'InvalidParameters', `Parameter "${key}" "${value}" is not one of ${spec.allowedValues.join(', ')}`);
      values[key] = value;
    }
    for (const key of Object.keys(given)) if (!(key in document.parameters)) throw new AwsFault(400, 'InvalidParameters', `Parameter ${key} is not defined in document ${name}.`);
    const command: CommandRecord = { id: randomUUID(), document: name, step: document.mainSteps[0]?.name ?? 'runShellScript', parameters: given, requested: new Date(), invocations: targets.map((t) => ({ instanceId: t.id, status: 'Pending' })), request: body };
    this.commands.push(command);
    const { script, env } = documentScript(document, values);
    this.running.push(
      (async () => {
        // Concurrency and error limits are SSM's business; one instance after another honours any of them.
        for (const invocation of command.invocations) {
          if (invocation.status !== 'Pending') continue;
          const instance = targets.find((t) => t.id === invocation.instanceId) as ManagedInstance;
          Object.assign(invocation, { status: 'InProgress', started: new Date() });
          const result = await instance.run(script, env).catch((error: Error) => ({ code: 1, stdout: '', stderr: error.message }));
          Object.assign(invocation, {
            status: result.code === 0 ? 'Success' : 'Failed',
            code: result.code,
            output: `${result.stdout}${result.stderr ? `\n----------ERROR-------\n${result.stderr}` : ''}`.slice(0, OUTPUT_LIMIT),
            finished: new Date(),
          });
        }
      })(),
    );
    return command;
  }

  private command(id: string): CommandRecord {
    const command = this.commands.find((c) => c.id === id);
    if (!command) throw new AwsFault(400, 'InvalidCommandId', `Command ${id} was not found`);
    return command;
  }

  private describe(c: CommandRecord): unknown {
    const done = c.invocations.filter((i) => i.status === 'Success' || i.status === 'Failed');
    const failed = c.invocations.filter((i) => i.status === 'Failed');
    const status = done.length < c.invocations.length ? (c.invocations.some((i) => i.status !== 'Pending') ? 'InProgress' : 'Pending') : failed.length > 0 ? 'Failed' : 'Success';
    return {
      CommandId: c.id,
      DocumentName: c.document,
      Parameters: c.parameters,
      InstanceIds: c.request.InstanceIds ?? [],
      Targets: c.request.Targets ?? [],
      RequestedDateTime: c.requested.getTime() / 1000,
      Status: status,
      StatusDetails: status,
      MaxConcurrency: c.request.MaxConcurrency,
      MaxErrors: c.request.MaxErrors,
      Comment: c.request.Comment,
      TargetCount: c.invocations.length,
      CompletedCount: done.length,
      ErrorCount: failed.length,
      DeliveryTimedOutCount: 0,
    };
  }

  private describeInvocation(c: CommandRecord, i: Invocation, details: boolean): unknown {
    return {
      CommandId: c.id,
      InstanceId: i.instanceId,
      DocumentName: c.document,
      RequestedDateTime: c.requested.getTime() / 1000,
      Status: i.status,
      StatusDetails: i.status,
      ...(details
        ? {
            CommandPlugins: [
              {
                Name: c.step,
                Status: i.status,
                StatusDetails: i.status,
                ...(i.code !== undefined ? { ResponseCode: i.code } : {}),
                ...(i.started ? { ResponseStartDateTime: i.started.getTime() / 1000 } : {}),
                ...(i.finished ? { ResponseFinishDateTime: i.finished.getTime() / 1000 } : {}),
                Output: i.output ?? '',
              },
            ],
          }
        : {}),
    };
  }
}
