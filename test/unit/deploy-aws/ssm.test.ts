import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import {
  CancelCommandCommand,
  InvalidInstanceId,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  type Command,
  type CommandInvocation,
  type ListCommandsCommandOutput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { SsmTransport, type InstanceResult, type SsmTransportOptions } from '../../../src/deploy/aws-ssm/index.js';
import type { Host } from '../../../src/fleet/types.js';
import { memoryLog } from '../../../src/util/log.js';

const OLD = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-api-24.11.20241201.aaaaaaa';
const NEW = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-api-24.11.20241208.bbbbbbb';
const CACHE = 'https://cache.example.org';
const COMMAND_ID = '4c6a3f1e-2b7d-4e8a-9f0c-1d2e3f4a5b6c';
const META = { httpStatusCode: 200, requestId: '7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a', attempts: 1, totalRetryDelay: 0 };
const IDS = ['i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60002', 'i-0a1b2c3d4e5f60003', 'i-0a1b2c3d4e5f60004'];

const byIds: Host = { name: 'api', attribute: 'api', system: 'x86_64-linux', environment: 'production', tags: [], deploy: { method: 'aws-ssm', instanceIds: IDS, region: 'eu-west-1' } };
const byTags: Host = { name: 'workers', attribute: 'workers', system: 'x86_64-linux', environment: 'production', tags: [], deploy: { method: 'aws-ssm', tags: { Role: 'worker', Env: 'production' }, region: 'eu-west-1' } };

function command(status: Command['Status'], extra: Partial<Command> = {}): ListCommandsCommandOutput {
  return {
    $metadata: META,
    Commands: [
      {
        CommandId: COMMAND_ID,
        DocumentName: 'NixOS-Deploy',
        DocumentVersion: '$DEFAULT',
        Comment: 'fleet api: 0123456',
        ExpiresAfter: new Date('2025-03-01T11:10:00Z'),
        InstanceIds: IDS,
        Targets: [],
        RequestedDateTime: new Date('2025-03-01T10:00:00Z'),
        Status: status,
        StatusDetails: status,
        MaxConcurrency: '2',
        MaxErrors: '1',
        TargetCount: 4,
        CompletedCount: 0,
        ErrorCount: 0,
        DeliveryTimedOutCount: 0,
        TimeoutSeconds: 600,
        ...extra,
      },
    ],
  };
}

/** The plugin output as SSM returns it: stdout, then the stderr section. */
function output(lines: string[], stderr = ''): string {
  return `${lines.map((l) => `fleet: ${l}`).join('\n')}\n${stderr ? `\n----------ERROR-------\n${stderr}` : ''}`;
}

function invocation(instanceId: string, status: CommandInvocation['Status'], details: string, code: number, out: string): CommandInvocation {
  return {
    CommandId: COMMAND_ID,
    InstanceId: instanceId,
    InstanceName: `ip-10-0-1-${instanceId.slice(-1)}.eu-west-1.compute.internal`,
    Comment: 'fleet api: 0123456',
    DocumentName: 'NixOS-Deploy',
    DocumentVersion: '$DEFAULT',
    RequestedDateTime: new Date('2025-03-01T10:00:00Z'),
    Status: status,
    StatusDetails: details,
    TraceOutput: '',
    StandardOutputUrl: '',
    StandardErrorUrl: '',
    CommandPlugins: [
      {
        Name: 'deployNixOS',
        Status: status === 'Cancelled' ? 'Cancelled' : status === 'TimedOut' ? 'TimedOut' : status === 'Success' ? 'Success' : 'Failed',
        StatusDetails: details,
        ResponseCode: code,
        ResponseStartDateTime: new Date('2025-03-01T10:00:10Z'),
        ResponseFinishDateTime: new Date('2025-03-01T10:02:40Z'),
        Output: out,
        StandardOutputUrl: '',
        StandardErrorUrl: '',
        OutputS3Region: 'eu-west-1',
        OutputS3BucketName: '',
        OutputS3KeyPrefix: '',
      },
    ],
    NotificationConfig: { NotificationArn: '', NotificationEvents: [] },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
}

describe('SsmTransport (aws-sdk-client-mock)', () => {
  const client = new SSMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } });
  const mock = mockClient(client);
  afterEach(() => {
    mock.reset();
  });
  afterAll(() => client.destroy());

  function transport(extra: Partial<SsmTransportOptions> = {}) {
    let now = new Date('2025-03-01T10:00:00Z').getTime();
    const log = memoryLog();
    const instances: InstanceResult[] = [];
    const t = new SsmTransport({
      settings: { action: 'switch', rollback: 'auto', substituters: [CACHE], activationTimeoutMs: 30 * 60_000 },
      log,
      rollout: { maxConcurrency: { count: 2 }, maxErrors: { count: 1 } },
      clients: () => client,
      comment: '0123456',
      pollIntervalMs: 10_000,
      clock: { now: () => new Date(now) },
      sleep: async (ms) => {
        now += ms;
      },
      onInstanceResult: (r) => instances.push(r),
      ...extra,
    });
    return { t, log, instances };
  }

  it('sends the document with the plan’s limits and reports each instance: Success, Failed (rolled back), TimedOut, Failed (degraded)', async () => {
    mock.on(SendCommandCommand).resolves({ $metadata: META, Command: command('Pending').Commands?.[0] });
    mock
      .on(ListCommandsCommand, { CommandId: COMMAND_ID })
      .resolvesOnce(command('Pending'))
      .resolvesOnce(command('InProgress', { CompletedCount: 2, ErrorCount: 1 }))
      .resolves(command('Failed', { StatusDetails: 'Failed', CompletedCount: 4, ErrorCount: 3 }));
    mock
      .on(ListCommandInvocationsCommand)
      .resolvesOnce({
        $metadata: META,
        CommandInvocations: [
          invocation(IDS[0] as string, 'Success', 'Success', 0, output([`before=${OLD}`, `target=${NEW}`, 'switch done', `current=${NEW}`, `booted=${OLD}`, 'generation=42', 'exit=0'], 'copying path …')),
          invocation(
            IDS[1] as string,
            'Failed',
            'Failed',
            10,
            output([`before=${OLD}`, `target=${NEW}`, `rolled back to ${OLD}: switch-to-configuration switch exited with 1`, `current=${OLD}`, `booted=${OLD}`, 'generation=43', 'exit=10'], 'error: the activation script failed\nfailed to run commands: exit status 10'),
          ),
        ],
        NextToken: 'AAEAAeyJwYWdlIjoyfQ==',
      })
      .resolvesOnce({
        $metadata: META,
        CommandInvocations: [
          invocation(IDS[2] as string, 'TimedOut', 'ExecutionTimedOut', -1, output([`before=${OLD}`, `target=${NEW}`], 'copying path … (stalled)')),
          invocation(
            IDS[3] as string,
            'Failed',
            'Failed',
            4,
            output([`before=${OLD}`, `target=${NEW}`, 'switch-to-configuration switch exited with 4: some units failed (the new system is kept)', `current=${NEW}`, 'exit=4']),
          ),
        ],
      });

    const { t, log, instances } = transport();
    const result = await t.deployHost({ host: byIds, system: NEW });

    const sent = mock.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(sent).toEqual({
      DocumentName: 'NixOS-Deploy',
      InstanceIds: IDS,
      Parameters: { storePath: [NEW], substituters: [CACHE], action: ['switch'], rollback: ['auto'], executionTimeout: ['1800'] },
      MaxConcurrency: '2',
      MaxErrors: '1',
      TimeoutSeconds: 600,
      Comment: 'fleet api: 0123456',
    });
    const listCalls = mock.commandCalls(ListCommandInvocationsCommand).map((c) => c.args[0].input);
    expect(listCalls).toEqual([
      { CommandId: COMMAND_ID, Details: true, MaxResults: 50 },
      { CommandId: COMMAND_ID, Details: true, MaxResults: 50, NextToken: 'AAEAAeyJwYWdlIjoyfQ==' },
    ]);

    expect(instances.map((i) => [i.host, i.outcome])).toEqual([
      ['api/i-0a1b2c3d4e5f60001', 'succeeded'],
      ['api/i-0a1b2c3d4e5f60002', 'rolled-back'],
      ['api/i-0a1b2c3d4e5f60003', 'failed'],
      ['api/i-0a1b2c3d4e5f60004', 'degraded'],
    ]);
    expect(instances[0]).toMatchObject({ before: OLD, after: NEW, booted: OLD, generation: 42, durationMs: 150_000, message: 'switch done' });
    expect(instances[1]).toMatchObject({ before: OLD, after: OLD, message: `rolled back to ${OLD}: switch-to-configuration switch exited with 1` });
    expect(instances[2]?.message).toBe('ExecutionTimedOut');
    expect(instances[3]?.message).toBe('switch-to-configuration switch exited with 4: some units failed (the new system is kept)');

    expect(result.outcome).toBe('failed');
    expect(result.message).toMatch(/^command 4c6a3f1e-2b7d-4e8a-9f0c-1d2e3f4a5b6c Failed; 4 instances: 1 failed, 1 rolled-back, 1 degraded, 1 succeeded; i-0a1b2c3d4e5f60002: rolled back/);
    expect(t.instanceResults().get('api')).toHaveLength(4);
    expect(log.lines.join('\n')).toContain('api: command 4c6a3f1e-2b7d-4e8a-9f0c-1d2e3f4a5b6c InProgress: 2/4 done, 1 errors');
  });

  it('targets tags, and reads undelivered and never-run instances as unreachable and skipped', async () => {
    mock.on(SendCommandCommand).resolves({ $metadata: META, Command: command('Pending', { InstanceIds: [], Targets: [{ Key: 'tag:Role', Values: ['worker'] }, { Key: 'tag:Env', Values: ['production'] }] }).Commands?.[0] });
    mock.on(ListCommandsCommand).resolves(command('TimedOut', { StatusDetails: 'Delivery Timed Out', TargetCount: 3, CompletedCount: 3, DeliveryTimedOutCount: 1, ErrorCount: 1 }));
    mock.on(ListCommandInvocationsCommand).resolves({
      $metadata: META,
      CommandInvocations: [
        invocation('i-0b000000000000001', 'Success', 'Success', 0, output([`before=${OLD}`, `target=${NEW}`, 'switch done', `current=${NEW}`, 'exit=0'])),
        invocation('i-0b000000000000002', 'TimedOut', 'DeliveryTimedOut', -1, ''),
        invocation('i-0b000000000000003', 'Cancelled', 'Cancelled', -1, ''),
      ],
    });
    const { t, instances } = transport();
    const result = await t.deployHost({ host: byTags, system: NEW });
    expect(mock.commandCalls(SendCommandCommand)[0]?.args[0].input.Targets).toEqual([
      { Key: 'tag:Role', Values: ['worker'] },
      { Key: 'tag:Env', Values: ['production'] },
    ]);
    expect(mock.commandCalls(SendCommandCommand)[0]?.args[0].input.InstanceIds).toBeUndefined();
    expect(instances.map((i) => i.outcome)).toEqual(['succeeded', 'unreachable', 'skipped']);
    expect(instances[1]?.message).toMatch(/^DeliveryTimedOut: the instance did not pick the command up/);
    expect(result.outcome).toBe('unreachable');
  });

  it('marks instance ids SSM never sent the command to as skipped', async () => {
    mock.on(SendCommandCommand).resolves({ $metadata: META, Command: command('Pending').Commands?.[0] });
    mock.on(ListCommandsCommand).resolves(command('Failed', { CompletedCount: 2, ErrorCount: 2 }));
    mock.on(ListCommandInvocationsCommand).resolves({
      $metadata: META,
      CommandInvocations: [
        invocation(IDS[0] as string, 'Failed', 'Failed', 1, output([`before=${OLD}`, `target=${NEW}`, `could not fetch ${NEW}; nothing changed`, `current=${OLD}`, 'exit=1'])),
        invocation(IDS[1] as string, 'Failed', 'Failed', 1, output([`could not fetch ${NEW}; nothing changed`, 'exit=1'])),
      ],
    });
    const { t, instances } = transport();
    const result = await t.deployHost({ host: byIds, system: NEW });
    expect(instances.map((i) => [i.instanceId, i.outcome])).toEqual([
      [IDS[0], 'failed'],
      [IDS[1], 'failed'],
      [IDS[2], 'skipped'],
      [IDS[3], 'skipped'],
    ]);
    expect(instances[0]?.message).toBe(`Failed (exit 1): could not fetch ${NEW}; nothing changed`);
    expect(result.message).toMatch(/4 instances: 2 failed, 2 skipped/);
  });

  it('cancels a command that outlasts the wait', async () => {
    mock.on(SendCommandCommand).resolves({ $metadata: META, Command: command('Pending').Commands?.[0] });
    mock
      .on(ListCommandsCommand)
      .resolvesOnce(command('InProgress', { CompletedCount: 1 }))
      .resolvesOnce(command('InProgress', { CompletedCount: 1 }))
      .resolvesOnce(command('Cancelling', { CompletedCount: 1 }))
      .resolves(command('Cancelled', { CompletedCount: 4 }));
    mock.on(CancelCommandCommand).resolves({ $metadata: META });
    mock.on(ListCommandInvocationsCommand).resolves({
      $metadata: META,
      CommandInvocations: [
        invocation(IDS[0] as string, 'Success', 'Success', 0, output(['switch done', `current=${NEW}`, 'exit=0'])),
        ...IDS.slice(1).map((id) => invocation(id, 'Cancelled', 'Cancelled', -1, '')),
      ],
    });
    const { t, log } = transport({ timeoutMs: 10_000 });
    const result = await t.deployHost({ host: byIds, system: NEW });
    expect(mock.commandCalls(CancelCommandCommand).map((c) => c.args[0].input)).toEqual([{ CommandId: COMMAND_ID }]);
    expect(result.outcome).toBe('skipped');
    expect(result.message).toMatch(/^command .* cancelled after 0 min; 4 instances: 3 skipped, 1 succeeded/);
    expect(log.lines.join('\n')).toContain(`cancelling command ${COMMAND_ID} after 10.0s`);
  });

  it('reports an API refusal as the host failing, with the error named', async () => {
    mock.on(SendCommandCommand).rejects(new InvalidInstanceId({ message: 'Instances [[i-0a1b2c3d4e5f60004]] not in a valid state for account 123456789012', $metadata: { httpStatusCode: 400 } }));
    const { t } = transport();
    const result = await t.deployHost({ host: byIds, system: NEW });
    expect(result).toMatchObject({ outcome: 'failed', message: 'SSM NixOS-Deploy (eu-west-1): InvalidInstanceId: Instances [[i-0a1b2c3d4e5f60004]] not in a valid state for account 123456789012' });
  });

  it('checks targets and parameters before calling SSM', async () => {
    const { t } = transport();
    const bad = await t.deployHost({ host: { ...byIds, deploy: { method: 'aws-ssm', instanceIds: ['web1'], region: 'eu-west-1' } }, system: NEW });
    expect(bad.message).toMatch(/web1 is not an instance id \(example: i-0123456789abcdef0\)/);
    const quote = new SsmTransport({
      settings: { action: 'switch', rollback: 'auto', substituters: [`${CACHE}'; rm -rf /`], activationTimeoutMs: 60_000 },
      log: memoryLog(),
      clients: () => client,
    });
    const injected = await quote.deployHost({ host: byIds, system: NEW });
    expect(injected.message).toMatch(/substituters: .* has characters the NixOS-Deploy document refuses/);
    expect(mock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});
