import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  StartInstanceRefreshCommand,
  type AutoScalingGroup,
  type DescribeInstanceRefreshesCommandOutput,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand, DescribeLaunchTemplateVersionsCommand, EC2Client, type LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { AsgTransport, type AsgTransportOptions } from '../../../src/deploy/aws-asg/index.js';
import type { Host } from '../../../src/fleet/types.js';
import { memoryLog } from '../../../src/util/log.js';

const OLD = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web-24.11.20241201.aaaaaaa';
const NEW = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-web-24.11.20241208.bbbbbbb';
const CACHE = 'https://cache.example.org';
const KEY = 'cache.example.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';
const LT_ID = 'lt-0a1b2c3d4e5f67890';
const REFRESH_ID = '08b91cf7-8fa6-48af-b6a6-d227f40f1b9b';
const META = { httpStatusCode: 200, requestId: 'c2a4f6e8-1b3d-4f5a-8c7e-9d0b1a2c3e4f', attempts: 1, totalRetryDelay: 0 };

const host: Host = {
  name: 'web',
  attribute: 'web',
  system: 'x86_64-linux',
  environment: 'production',
  tags: [],
  deploy: { method: 'aws-asg', autoScalingGroup: 'web-asg', launchTemplate: 'web', region: 'eu-west-1' },
};

function group(extra: Partial<AutoScalingGroup> = {}): AutoScalingGroup {
  return {
    AutoScalingGroupName: 'web-asg',
    AutoScalingGroupARN: 'arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:6f2b1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:autoScalingGroupName/web-asg',
    LaunchTemplate: { LaunchTemplateId: LT_ID, LaunchTemplateName: 'web', Version: '7' },
    MinSize: 2,
    MaxSize: 12,
    DesiredCapacity: 10,
    DefaultCooldown: 300,
    AvailabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    HealthCheckType: 'ELB',
    HealthCheckGracePeriod: 300,
    CreatedTime: new Date('2024-06-01T09:00:00Z'),
    VPCZoneIdentifier: 'subnet-0aa11bb22cc33dd44,subnet-0ee55ff66aa77bb88',
    TerminationPolicies: ['Default'],
    NewInstancesProtectedFromScaleIn: false,
    ServiceLinkedRoleARN: 'arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling',
    DefaultInstanceWarmup: 120,
    ...extra,
  };
}

function templateVersion(version: number, system: string | undefined, extra: Partial<LaunchTemplateVersion> = {}): LaunchTemplateVersion {
  const fleetTags = system
    ? [
        { Key: 'fleet:host', Value: 'web' },
        { Key: 'fleet:system', Value: system },
        { Key: 'fleet:substituters', Value: CACHE },
      ]
    : [];
  return {
    LaunchTemplateId: LT_ID,
    LaunchTemplateName: 'web',
    VersionNumber: version,
    VersionDescription: 'fleet web: previous',
    CreateTime: new Date('2024-12-01T10:00:00Z'),
    CreatedBy: 'arn:aws:sts::123456789012:assumed-role/fleet-deploy-production/GitHubActions',
    DefaultVersion: false,
    LaunchTemplateData: {
      ImageId: 'ami-0abcdef1234567890',
      InstanceType: 'm6i.large',
      IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/web' },
      UserData: Buffer.from('#!/usr/bin/env bash\n# host/aws/user-data.sh\n').toString('base64'),
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled', HttpProtocolIpv6: 'disabled', InstanceMetadataTags: 'enabled' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }, ...fleetTags] },
        { ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'web' }] },
      ],
    },
    ...extra,
  };
}

function refresh(status: InstanceRefresh['Status'], extra: Partial<InstanceRefresh> = {}): DescribeInstanceRefreshesCommandOutput {
  return {
    $metadata: META,
    InstanceRefreshes: [
      {
        InstanceRefreshId: REFRESH_ID,
        AutoScalingGroupName: 'web-asg',
        Status: status,
        StartTime: new Date('2025-03-01T10:00:05Z'),
        Strategy: 'Rolling',
        ...extra,
      },
    ],
  };
}

describe('AsgTransport (aws-sdk-client-mock)', () => {
  const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const autoScaling = new AutoScalingClient({ region: 'eu-west-1', credentials });
  const ec2 = new EC2Client({ region: 'eu-west-1', credentials });
  const asMock = mockClient(autoScaling);
  const ec2Mock = mockClient(ec2);
  afterEach(() => {
    asMock.reset();
    ec2Mock.reset();
  });
  afterAll(() => {
    autoScaling.destroy();
    ec2.destroy();
  });

  function transport(extra: Partial<AsgTransportOptions> = {}) {
    let now = new Date('2025-03-01T10:00:00Z').getTime();
    const log = memoryLog();
    const t = new AsgTransport({
      settings: { action: 'switch', rollback: 'auto', substituters: [CACHE] },
      log,
      rollout: { canary: 1, maxConcurrency: { count: 3 } },
      clients: (region) => {
        expect(region).toBe('eu-west-1');
        return { autoScaling, ec2 };
      },
      commit: '0123456789abcdef0123456789abcdef01234567',
      timeoutMs: 60 * 60_000,
      pollIntervalMs: 30_000,
      clock: { now: () => new Date(now) },
      sleep: async (ms) => {
        now += ms;
      },
      ...extra,
    });
    return { t, log };
  }

  function mockGroup(g: AutoScalingGroup = group(), source: LaunchTemplateVersion = templateVersion(7, OLD)) {
    asMock.on(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['web-asg'] }).resolves({ $metadata: META, AutoScalingGroups: [g] });
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({ $metadata: META, LaunchTemplateVersions: [source] });
    ec2Mock.on(CreateLaunchTemplateVersionCommand).resolves({ $metadata: META, LaunchTemplateVersion: templateVersion(8, NEW, { VersionDescription: 'fleet web: new' }) });
    asMock.on(StartInstanceRefreshCommand).resolves({ $metadata: META, InstanceRefreshId: REFRESH_ID });
  }

  it('tags a new launch template version and refreshes to exactly it, with the plan as checkpoints', async () => {
    mockGroup();
    asMock
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce(refresh('Pending', { StatusReason: 'Waiting for instances to warm up before continuing.' }))
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 10, InstancesToUpdate: 9, StatusReason: 'Waiting for checkpoint delay: 10% complete' }))
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 70, InstancesToUpdate: 3 }))
      .resolves(refresh('Successful', { PercentageComplete: 100, InstancesToUpdate: 0, EndTime: new Date('2025-03-01T10:40:00Z') }));
    const { t, log } = transport();
    const result = await t.deployHost({ host, system: NEW });

    expect(result).toMatchObject({ host: 'web', outcome: 'succeeded', target: NEW, before: OLD, after: NEW, durationMs: 90_000 });
    expect(result.message).toBe(`web-asg: instance refresh ${REFRESH_ID} Successful`);

    const create = ec2Mock.commandCalls(CreateLaunchTemplateVersionCommand);
    expect(create).toHaveLength(1);
    const request = create[0]?.args[0].input;
    expect(request?.LaunchTemplateId).toBe(LT_ID);
    expect(request?.SourceVersion).toBe('7');
    expect(request?.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    expect(request?.LaunchTemplateData?.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled', HttpProtocolIpv6: 'disabled', InstanceMetadataTags: 'enabled' });
    expect(request?.LaunchTemplateData?.TagSpecifications).toEqual([
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'Name', Value: 'web' },
          { Key: 'fleet:host', Value: 'web' },
          { Key: 'fleet:system', Value: NEW },
          { Key: 'fleet:substituters', Value: CACHE },
          { Key: 'fleet:commit', Value: '0123456789abcdef0123456789abcdef01234567' },
        ],
      },
      { ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'web' }] },
    ]);

    const start = asMock.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input;
    expect(start).toEqual({
      AutoScalingGroupName: 'web-asg',
      Strategy: 'Rolling',
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: LT_ID, Version: '8' } },
      Preferences: { SkipMatching: true, AutoRollback: true, MinHealthyPercentage: 70, CheckpointPercentages: [10, 40, 70, 100], CheckpointDelay: 300 },
    });
    expect(asMock.commandCalls(DescribeInstanceRefreshesCommand)[0]?.args[0].input).toEqual({ AutoScalingGroupName: 'web-asg', InstanceRefreshIds: [REFRESH_ID] });
    expect(asMock.commandCalls(CancelInstanceRefreshCommand)).toHaveLength(0);
    expect(log.lines.join('\n')).toContain('canary 1 of 10, then 3 at a time; checkpoints at 10%, 40%, 70%, 100% (300s pause)');
    expect(log.lines.join('\n')).toContain('instance refresh InProgress 10%, 9 to update (Waiting for checkpoint delay: 10% complete)');
  });

  it('reports a Failed refresh with the reason AWS gives', async () => {
    mockGroup();
    asMock
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 0, InstancesToUpdate: 10 }))
      .resolves(
        refresh('Failed', {
          PercentageComplete: 10,
          InstancesToUpdate: 9,
          StatusReason: 'Instance refresh failed: 1 instance(s) failed to pass ELB health checks within the health check grace period (i-0f1e2d3c4b5a69788).',
          EndTime: new Date('2025-03-01T10:20:00Z'),
        }),
      );
    const { t } = transport({ settings: { action: 'switch', rollback: 'off', substituters: [CACHE] } });
    const result = await t.deployHost({ host, system: NEW });
    expect(result.outcome).toBe('failed');
    expect(result.after).toBeUndefined();
    expect(result.message).toBe(
      `web-asg: instance refresh ${REFRESH_ID} Failed (10% replaced): Instance refresh failed: 1 instance(s) failed to pass ELB health checks within the health check grace period (i-0f1e2d3c4b5a69788).`,
    );
    expect(asMock.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input.Preferences?.AutoRollback).toBe(false);
  });

  it('reports RollbackSuccessful as rolled back, with the rollback reason, back on the previous system', async () => {
    mockGroup();
    asMock
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 10, InstancesToUpdate: 9 }))
      .resolvesOnce(
        refresh('RollbackInProgress', {
          PercentageComplete: 0,
          StatusReason: 'Rollback started: the instance refresh failed.',
          RollbackDetails: { RollbackReason: 'Automatic rollback: instance i-0f1e2d3c4b5a69788 failed ELB health checks.', RollbackStartTime: new Date('2025-03-01T10:12:00Z'), PercentageCompleteOnRollback: 10, InstancesToUpdateOnRollback: 9 },
        }),
      )
      .resolves(
        refresh('RollbackSuccessful', {
          PercentageComplete: 100,
          StatusReason: 'Rollback completed successfully.',
          RollbackDetails: { RollbackReason: 'Automatic rollback: instance i-0f1e2d3c4b5a69788 failed ELB health checks.', RollbackStartTime: new Date('2025-03-01T10:12:00Z'), PercentageCompleteOnRollback: 10, InstancesToUpdateOnRollback: 9 },
        }),
      );
    const { t } = transport();
    const result = await t.deployHost({ host, system: NEW });
    expect(result).toMatchObject({ outcome: 'rolled-back', before: OLD, after: OLD });
    expect(result.message).toBe(`web-asg: instance refresh ${REFRESH_ID} rolled back (RollbackSuccessful): Automatic rollback: instance i-0f1e2d3c4b5a69788 failed ELB health checks.`);
  });

  it('cancels a refresh that outlasts the wait, and says how far it got', async () => {
    mockGroup();
    asMock
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 10, InstancesToUpdate: 9, StatusReason: 'Waiting for checkpoint delay: 10% complete' }))
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 10, InstancesToUpdate: 9, StatusReason: 'Waiting for checkpoint delay: 10% complete' }))
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 10, InstancesToUpdate: 9 }))
      .resolvesOnce(refresh('Cancelling', { PercentageComplete: 10, InstancesToUpdate: 9 }))
      .resolves(refresh('Cancelled', { PercentageComplete: 10, InstancesToUpdate: 9, StatusReason: 'Instance refresh was cancelled by the user.' }));
    asMock.on(CancelInstanceRefreshCommand).resolves({ $metadata: META, InstanceRefreshId: REFRESH_ID });
    const { t, log } = transport({ timeoutMs: 60_000 });
    const result = await t.deployHost({ host, system: NEW });
    expect(asMock.commandCalls(CancelInstanceRefreshCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: 'web-asg' }]);
    expect(result.outcome).toBe('failed');
    expect(result.message).toBe(`web-asg: instance refresh ${REFRESH_ID} did not finish within 1m0s and was cancelled (Cancelled) (10% replaced): Instance refresh was cancelled by the user.`);
    expect(log.lines.join('\n')).toContain(`cancelling instance refresh ${REFRESH_ID} after 1m0s`);
  });

  it('explains a refresh already in progress', async () => {
    mockGroup();
    asMock.on(StartInstanceRefreshCommand).rejects(
      new InstanceRefreshInProgressFault({ message: 'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.', $metadata: { httpStatusCode: 400 } }),
    );
    const { t } = transport();
    const result = await t.deployHost({ host, system: NEW });
    expect(result.outcome).toBe('failed');
    expect(result.before).toBe(OLD);
    expect(result.message).toMatch(/web-asg \(eu-west-1\): web-asg has an instance refresh in progress already .*aws autoscaling cancel-instance-refresh --auto-scaling-group-name web-asg/);
  });

  it('refuses a group that does not use the inventory’s launch template, before creating anything', async () => {
    mockGroup(group({ LaunchTemplate: { LaunchTemplateId: 'lt-0ffffffffffffffff', LaunchTemplateName: 'api', Version: '$Latest' } }));
    const { t } = transport();
    const result = await t.deployHost({ host, system: NEW });
    expect(result.message).toBe('web-asg (eu-west-1): Auto Scaling group web-asg uses launch template api, not web as the inventory says');
    expect(ec2Mock.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0);
    expect(asMock.commandCalls(StartInstanceRefreshCommand)).toHaveLength(0);
  });

  it('reuses the group’s version when it already carries the system (a re-run), so skip matching keeps replaced instances', async () => {
    mockGroup(group({ LaunchTemplate: { LaunchTemplateId: LT_ID, LaunchTemplateName: 'web', Version: '8' } }), templateVersion(8, NEW));
    asMock.on(DescribeInstanceRefreshesCommand).resolves(refresh('Successful', { PercentageComplete: 100, InstancesToUpdate: 0 }));
    const { t } = transport();
    const result = await t.deployHost({ host, system: NEW });
    expect(result.outcome).toBe('succeeded');
    expect(ec2Mock.commandCalls(CreateLaunchTemplateVersionCommand)).toHaveLength(0);
    expect(asMock.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input.DesiredConfiguration).toEqual({ LaunchTemplate: { LaunchTemplateId: LT_ID, Version: '8' } });
  });

  it('never carries the keys that vouch for a system as a tag: a version an older fleet tagged with them is replaced without them', async () => {
    const legacy = templateVersion(8, NEW);
    legacy.LaunchTemplateData?.TagSpecifications?.[0]?.Tags?.push({ Key: 'fleet:trusted-public-keys', Value: KEY });
    mockGroup(group({ LaunchTemplate: { LaunchTemplateId: LT_ID, LaunchTemplateName: 'web', Version: '8' } }), legacy);
    asMock.on(DescribeInstanceRefreshesCommand).resolves(refresh('Successful', { PercentageComplete: 100 }));
    const { t } = transport();
    expect((await t.deployHost({ host, system: NEW })).outcome).toBe('succeeded');
    const created = ec2Mock.commandCalls(CreateLaunchTemplateVersionCommand)[0]?.args[0].input;
    const tags = created?.LaunchTemplateData?.TagSpecifications?.flatMap((s) => s.Tags ?? []).map((tag) => tag.Key);
    expect(tags).toContain('fleet:system');
    expect(tags).not.toContain('fleet:trusted-public-keys');
  });

  it('keeps a mixed instances policy (overrides, distribution) in the desired configuration', async () => {
    mockGroup(
      group({
        LaunchTemplate: undefined,
        MixedInstancesPolicy: {
          LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: LT_ID, LaunchTemplateName: 'web', Version: '$Default' }, Overrides: [{ InstanceType: 'm6i.large' }, { InstanceType: 'm7i.large' }] },
          InstancesDistribution: { OnDemandBaseCapacity: 2, OnDemandPercentageAboveBaseCapacity: 50, SpotAllocationStrategy: 'price-capacity-optimized' },
        },
      }),
    );
    asMock.on(DescribeInstanceRefreshesCommand).resolves(refresh('Successful', { PercentageComplete: 100 }));
    const { t } = transport();
    expect((await t.deployHost({ host, system: NEW })).outcome).toBe('succeeded');
    expect(ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand)[0]?.args[0].input).toEqual({ LaunchTemplateId: LT_ID, Versions: ['$Default'] });
    expect(asMock.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input.DesiredConfiguration).toEqual({
      MixedInstancesPolicy: {
        InstancesDistribution: { OnDemandBaseCapacity: 2, OnDemandPercentageAboveBaseCapacity: 50, SpotAllocationStrategy: 'price-capacity-optimized' },
        LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: LT_ID, Version: '8' }, Overrides: [{ InstanceType: 'm6i.large' }, { InstanceType: 'm7i.large' }] },
      },
    });
  });

  it('needs a region and a cache, and refuses actions an instance refresh cannot do', async () => {
    const { t } = transport({ clients: () => ({ autoScaling, ec2 }) });
    const noRegion = await t.deployHost({ host: { ...host, deploy: { method: 'aws-asg', autoScalingGroup: 'web-asg', launchTemplate: 'web' } }, system: NEW });
    expect(noRegion.message).toMatch(/^aws-region: required for aws-asg host web/);
    expect(() => transport({ settings: { action: 'test', rollback: 'auto', substituters: [CACHE] } })).toThrow(/"test" cannot be done by an instance refresh/);
    expect(() => transport({ settings: { action: 'switch', rollback: 'auto', substituters: [] } })).toThrow(/substituters: required for aws-asg hosts/);
  });
});
