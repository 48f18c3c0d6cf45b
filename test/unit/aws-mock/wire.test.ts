import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import {
  ActiveInstanceRefreshNotFoundFault,
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { InvalidParameters, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingAccount, SsmAccount, startAwsMock, type AwsMock, type CommandDocument, type ManagedInstance } from '../../support/aws/index.js';

/**
 * The AWS mock the journeys deploy through, read by the real SDK clients, whose deserializers are
 * generated from AWS's service models: every field the mock means to send must come out of the
 * client (a misnamed XML element or JSON key is dropped by the SDK and fails here), and its
 * errors must surface as the SDK's modelled exception classes.
 */
describe('AWS mock (Auto Scaling, EC2 launch templates, SSM) through the SDK', () => {
  let mock: AwsMock;
  let asg: AutoScalingAccount;
  let ssm: SsmAccount;
  const credentials = { accessKeyId: 'ASIAMOCKDEPLOYER0001', secretAccessKey: 'c2VjcmV0LW9mLXRoZS1kZXBsb3llcg', sessionToken: 'session-of-the-deployer' };
  const SYSTEM = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-web-24.11';
  const document: CommandDocument = {
    parameters: { storePath: { allowedPattern: '^/nix/store/[0-9a-z]{32}-[A-Za-z0-9._-]+$' }, action: { default: 'switch', allowedValues: ['switch', 'boot'] } },
    mainSteps: [{ name: 'deployNixOS', inputs: { runCommand: ['echo "fleet: target={{ storePath }} via $SSM_action"', 'test "$SSM_action" = switch'] } }],
  };
  const bash = (id: string): ManagedInstance => ({
    id,
    tags: { Role: 'db' },
    run: (script, env) =>
      new Promise((resolve) => {
        execFile('bash', ['--norc', '-c', script], { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
      }),
  });
  let clients: { autoScaling: AutoScalingClient; ec2: EC2Client; ssm: SSMClient };

  beforeAll(async () => {
    asg = new AutoScalingAccount([{ name: 'web-asg', region: 'us-east-1', launchTemplate: { name: 'web' }, capacity: 2 }]);
    ssm = new SsmAccount({ 'NixOS-Deploy': document }, [bash('i-0123456789abcdef0'), bash('i-0fedcba9876543210')]);
    mock = await startAwsMock({
      credentials: (id) => (id === credentials.accessKeyId ? { secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken, principal: 'arn:aws:sts::123456789012:assumed-role/deployer/run' } : undefined),
      autoScaling: asg,
      ssm,
      allows: ({ resource }) => !resource.includes('forbidden'),
    });
    const config = { region: 'us-east-1', endpoint: mock.endpoint, credentials, maxAttempts: 1 };
    clients = { autoScaling: new AutoScalingClient(config), ec2: new EC2Client(config), ssm: new SSMClient(config) };
  });
  afterAll(async () => {
    for (const client of Object.values(clients ?? {})) client.destroy();
    await mock?.stop();
  });

  it('describes a group with its launch template and instances', async () => {
    const out = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg', 'absent'] }));
    expect(out.AutoScalingGroups).toHaveLength(1);
    const group = out.AutoScalingGroups?.[0];
    expect(group).toMatchObject({ AutoScalingGroupName: 'web-asg', DesiredCapacity: 2, MinSize: 0, HealthCheckType: 'ELB', AvailabilityZones: ['us-east-1a', 'us-east-1b'] });
    expect(group?.LaunchTemplate).toEqual({ LaunchTemplateId: expect.stringMatching(/^lt-[0-9a-f]{17}$/), LaunchTemplateName: 'web', Version: '1' });
    expect(group?.CreatedTime).toBeInstanceOf(Date);
    expect(group?.Instances?.map((i) => [i.LifecycleState, i.HealthStatus, i.LaunchTemplate?.Version, i.ProtectedFromScaleIn])).toEqual([
      ['InService', 'Healthy', '1', false],
      ['InService', 'Healthy', '1', false],
    ]);
  });

  it('creates a launch template version from a source version, tags and metadata options included, once per client token', async () => {
    const before = await clients.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'web', Versions: ['$Default'] }));
    const source = before.LaunchTemplateVersions?.[0];
    expect(source).toMatchObject({ LaunchTemplateName: 'web', VersionNumber: 1, DefaultVersion: true, LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required' } } });
    const request = {
      LaunchTemplateId: source?.LaunchTemplateId as string,
      SourceVersion: '1',
      VersionDescription: 'fleet web',
      ClientToken: 'token-1',
      LaunchTemplateData: { TagSpecifications: [{ ResourceType: 'instance' as const, Tags: [{ Key: 'fleet:system', Value: SYSTEM }] }], MetadataOptions: { InstanceMetadataTags: 'enabled' as const } },
    };
    const created = await clients.ec2.send(new CreateLaunchTemplateVersionCommand(request));
    expect(created.LaunchTemplateVersion).toMatchObject({
      VersionNumber: 2,
      VersionDescription: 'fleet web',
      DefaultVersion: false,
      LaunchTemplateData: { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'fleet:system', Value: SYSTEM }] }], MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' } },
    });
    expect(created.LaunchTemplateVersion?.CreateTime).toBeInstanceOf(Date);
    const again = await clients.ec2.send(new CreateLaunchTemplateVersionCommand(request));
    expect(again.LaunchTemplateVersion?.VersionNumber).toBe(2);
    const second = await clients.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: source?.LaunchTemplateId, Versions: ['2'] }));
    expect(second.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([2]);
    await expect(clients.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'nope', Versions: ['1'] }))).rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.NotFoundException', $metadata: { httpStatusCode: 400 } });
  });

  it('refreshes the group to the version, refuses a second refresh while one runs, and reports it finished', async () => {
    const group = (await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }))).AutoScalingGroups?.[0];
    const started = await clients.autoScaling.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: 'web-asg',
        Strategy: 'Rolling',
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: group?.LaunchTemplate?.LaunchTemplateId, Version: '2' } },
        Preferences: { SkipMatching: true, AutoRollback: true, MinHealthyPercentage: 50, CheckpointPercentages: [50, 100], CheckpointDelay: 300 },
      }),
    );
    expect(started.InstanceRefreshId).toMatch(/^[0-9a-f-]{36}$/);
    await expect(clients.autoScaling.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg', DesiredConfiguration: { LaunchTemplate: { Version: '2' } } }))).rejects.toBeInstanceOf(InstanceRefreshInProgressFault);
    const described = await clients.autoScaling.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'web-asg', InstanceRefreshIds: [started.InstanceRefreshId as string] }));
    expect(described.InstanceRefreshes?.[0]).toMatchObject({ InstanceRefreshId: started.InstanceRefreshId, AutoScalingGroupName: 'web-asg', Status: 'Successful', PercentageComplete: 100, InstancesToUpdate: 0 });
    expect(described.InstanceRefreshes?.[0]?.EndTime).toBeInstanceOf(Date);
    expect(asg.instanceSystems('web-asg')).toEqual([SYSTEM, SYSTEM]);
    expect(asg.refreshesOf('web-asg')[0]?.preferences).toMatchObject({ SkipMatching: 'true', AutoRollback: 'true', CheckpointPercentages: ['50', '100'], CheckpointDelay: '300' });
    await expect(clients.autoScaling.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg' }))).rejects.toBeInstanceOf(ActiveInstanceRefreshNotFoundFault);
  });

  it('rolls a refresh back when its new instances are unhealthy', async () => {
    asg.verdict = () => 'unhealthy';
    try {
      const group = (await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web-asg'] }))).AutoScalingGroups?.[0];
      const { InstanceRefreshId: id } = await clients.autoScaling.send(
        new StartInstanceRefreshCommand({ AutoScalingGroupName: 'web-asg', DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: group?.LaunchTemplate?.LaunchTemplateId, Version: '1' } }, Preferences: { AutoRollback: true } }),
      );
      const refresh = (await clients.autoScaling.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'web-asg', InstanceRefreshIds: [id as string] }))).InstanceRefreshes?.[0];
      expect(refresh).toMatchObject({ Status: 'RollbackSuccessful', RollbackDetails: { RollbackReason: 'Instances failed to pass their health checks.' } });
      expect(asg.instanceSystems('web-asg')).toEqual([SYSTEM, SYSTEM]);
    } finally {
      asg.verdict = () => 'healthy';
    }
  });

  it('runs a command document on each instance as the agent does, and lists the command and its invocations', async () => {
    const sent = await clients.ssm.send(
      new SendCommandCommand({ DocumentName: 'NixOS-Deploy', Targets: [{ Key: 'tag:Role', Values: ['db'] }], Parameters: { storePath: [SYSTEM] }, MaxConcurrency: '50%', MaxErrors: '0', Comment: 'fleet db' }),
    );
    expect(sent.Command).toMatchObject({ DocumentName: 'NixOS-Deploy', TargetCount: 2, MaxConcurrency: '50%', MaxErrors: '0', Comment: 'fleet db', Parameters: { storePath: [SYSTEM] }, Targets: [{ Key: 'tag:Role', Values: ['db'] }] });
    expect(sent.Command?.RequestedDateTime).toBeInstanceOf(Date);
    const id = sent.Command?.CommandId as string;
    await ssm.settle();
    const listed = await clients.ssm.send(new ListCommandsCommand({ CommandId: id }));
    expect(listed.Commands?.[0]).toMatchObject({ CommandId: id, Status: 'Success', StatusDetails: 'Success', CompletedCount: 2, ErrorCount: 0, DeliveryTimedOutCount: 0 });
    const invocations = (await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: id, Details: true }))).CommandInvocations ?? [];
    expect(invocations.map((i) => i.InstanceId)).toEqual(['i-0123456789abcdef0', 'i-0fedcba9876543210']);
    for (const invocation of invocations) {
      expect(invocation).toMatchObject({ Status: 'Success', CommandPlugins: [{ Name: 'deployNixOS', Status: 'Success', ResponseCode: 0, Output: `fleet: target=${SYSTEM} via switch\n` }] });
      expect(invocation.CommandPlugins?.[0]?.ResponseFinishDateTime).toBeInstanceOf(Date);
    }
  });

  it("fails an invocation whose script exits non-zero, with the script's exit code and output", async () => {
    const sent = await clients.ssm.send(new SendCommandCommand({ DocumentName: 'NixOS-Deploy', InstanceIds: ['i-0123456789abcdef0'], Parameters: { storePath: [SYSTEM], action: ['boot'] } }));
    await ssm.settle();
    const id = sent.Command?.CommandId as string;
    expect((await clients.ssm.send(new ListCommandsCommand({ CommandId: id }))).Commands?.[0]).toMatchObject({ Status: 'Failed', ErrorCount: 1 });
    const [invocation] = (await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: id, Details: true }))).CommandInvocations ?? [];
    expect(invocation?.CommandPlugins?.[0]).toMatchObject({ Status: 'Failed', ResponseCode: 1, Output: `fleet: target=${SYSTEM} via boot\n` });
  });

  it("refuses parameters the document does not allow, unknown instances and what the principal may not touch, as the SDK's errors", async () => {
    await expect(clients.ssm.send(new SendCommandCommand({ DocumentName: 'NixOS-Deploy', InstanceIds: ['i-0123456789abcdef0'], Parameters: { storePath: ['/tmp/evil'] } }))).rejects.toBeInstanceOf(InvalidParameters);
    await expect(clients.ssm.send(new SendCommandCommand({ DocumentName: 'NixOS-Deploy', InstanceIds: ['i-00000000000000000'], Parameters: { storePath: [SYSTEM] } }))).rejects.toMatchObject({ name: 'InvalidInstanceId' });
    await expect(clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['forbidden'] }))).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(mock.calls.filter((c) => c.code).map((c) => `${c.service} ${c.action} ${c.code}`)).toEqual(
      expect.arrayContaining(['ssm SendCommand InvalidParameters', 'ssm SendCommand InvalidInstanceId', 'autoscaling DescribeAutoScalingGroups AccessDenied']),
    );
  });

  it('refuses a request not signed with the issued secret, or without its session token', async () => {
    const forged = new AutoScalingClient({ region: 'us-east-1', endpoint: mock.endpoint, credentials: { ...credentials, secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
    const tokenless = new SSMClient({ region: 'us-east-1', endpoint: mock.endpoint, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }, maxAttempts: 1 });
    try {
      await expect(forged.send(new DescribeAutoScalingGroupsCommand({}))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      await expect(tokenless.send(new ListCommandsCommand({}))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    } finally {
      forged.destroy();
      tokenless.destroy();
    }
  });
});
