import {
  CancelCommandCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type Command,
  type CommandInvocation,
  type CommandStatus,
  type SendCommandRequest,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { formatDuration } from '../../util/duration.js';
import type { Log } from '../../util/log.js';
import { poll, type CancellableWaitOptions } from '../../util/poll.js';

export class SsmError extends Error {
  override name = 'SsmError';
}

const FINAL: ReadonlySet<CommandStatus> = new Set<CommandStatus>(['Success', 'Failed', 'Cancelled', 'TimedOut']);

export async function sendCommand(client: SSMClient, request: SendCommandRequest): Promise<Command> {
  const out = await client.send(new SendCommandCommand(request));
  if (!out.Command?.CommandId) throw new SsmError(`SSM accepted ${request.DocumentName} but returned no command id`);
  return out.Command;
}

export async function describeCommand(client: SSMClient, commandId: string): Promise<Command> {
  const out = await client.send(new ListCommandsCommand({ CommandId: commandId }));
  const command = out.Commands?.find((c) => c.CommandId === commandId);
  if (!command) throw new SsmError(`command ${commandId} is not listed`);
  return command;
}

/** Every invocation of a command with its plugin output (paginated). */
export async function listInvocations(client: SSMClient, commandId: string): Promise<CommandInvocation[]> {
  const all: CommandInvocation[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, MaxResults: 50, ...(token ? { NextToken: token } : {}) }));
    all.push(...(out.CommandInvocations ?? []));
    token = out.NextToken;
  } while (token);
  return all;
}

/** Defaults: poll every 10 s, let a cancelled one settle for 2 minutes. */
export interface WaitCommandOptions extends CancellableWaitOptions {
  log?: Log;
  /** For log lines. */
  label?: string;
}

export interface CommandEnd {
  command: Command;
  timedOut: boolean;
}

/** Polls the command until it ends; on timeout (or abort) cancels it and waits for it to settle. */
export async function waitForCommand(client: SSMClient, commandId: string, options: WaitCommandOptions): Promise<CommandEnd> {
  const pollIntervalMs = options.pollIntervalMs ?? 10_000;
  const label = options.label ?? commandId;
  let last = '';
  const progress = (c: Command) => {
    const line = `${label}: command ${commandId} ${c.Status}${c.StatusDetails && c.StatusDetails !== c.Status ? ` (${c.StatusDetails})` : ''}: ${c.CompletedCount ?? 0}/${c.TargetCount ?? '?'} done, ${c.ErrorCount ?? 0} errors${c.DeliveryTimedOutCount ? `, ${c.DeliveryTimedOutCount} not delivered` : ''}`;
    if (line !== last) options.log?.info(line);
    last = line;
  };
  const end = await poll(
    async () => {
      const command = await describeCommand(client, commandId);
      progress(command);
      return command;
    },
    {
      isDone: (command) => command.Status !== undefined && FINAL.has(command.Status),
      timeoutMs: options.timeoutMs,
      intervalMs: pollIntervalMs,
      cancel: async () => {
        options.log?.warning(`${label}: cancelling command ${commandId} after ${formatDuration(options.timeoutMs)}`);
        await client.send(new CancelCommandCommand({ CommandId: commandId }));
      },
      settle: { withinMs: options.cancelWaitMs ?? 2 * 60_000, intervalMs: Math.min(pollIntervalMs, 5_000) },
      signal: options.signal,
      clock: options.clock,
      sleep: options.sleep,
    },
  );
  return { command: end.value, timedOut: end.ended !== 'done' };
}
