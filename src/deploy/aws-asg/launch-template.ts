import { createHash } from 'node:crypto';
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient, type AutoScalingGroup, type DesiredConfiguration, type LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateVersionCommand, DescribeLaunchTemplateVersionsCommand, type EC2Client, type LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import type { Log } from '../../util/log.js';
import { instanceTagValue, mergeTagSpecifications, metadataOptionsWithTags, systemTags, TAG_SUBSTITUTERS, TAG_SYSTEM, TAG_TRUSTED_PUBLIC_KEYS, type SystemTagValues } from './tags.js';

export class AsgError extends Error {
  override name = 'AsgError';
}

export interface GroupInfo {
  group: AutoScalingGroup;
  /** The launch template the group uses (directly or in its mixed instances policy). */
  launchTemplate: LaunchTemplateSpecification;
  mixed: boolean;
}

/** Reads the group and checks it uses the inventory's launch template (a name or an `lt-…` id). */
export async function describeGroup(client: AutoScalingClient, groupName: string, expectedTemplate: string): Promise<GroupInfo> {
  const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
  const group = out.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === groupName);
  if (!group) throw new AsgError(`Auto Scaling group ${groupName} does not exist (or the role may not describe it)`);
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  const launchTemplate = group.LaunchTemplate ?? mixed;
  if (!launchTemplate) {
    throw new AsgError(`Auto Scaling group ${groupName} has no launch template${group.LaunchConfigurationName ? ` (it uses launch configuration ${group.LaunchConfigurationName}; move it to a launch template)` : ''}`);
  }
  const matches = expectedTemplate.startsWith('lt-') ? launchTemplate.LaunchTemplateId === expectedTemplate : launchTemplate.LaunchTemplateName === expectedTemplate;
  if (!matches) {
    throw new AsgError(
      `Auto Scaling group ${groupName} uses launch template ${launchTemplate.LaunchTemplateName ?? launchTemplate.LaunchTemplateId}, not ${expectedTemplate} as the inventory says`,
    );
  }
  return { group, launchTemplate, mixed: !group.LaunchTemplate && mixed !== undefined };
}

export interface PreparedVersion {
  launchTemplateId: string;
  /** The version the instance refresh moves the group to. */
  version: number;
  /** The version the group used before (the source of the new one). */
  sourceVersion: number;
  /** The system the source version's instances run (its fleet:system tag), if it had one. */
  previousSystem?: string;
  /** False when the group's version already carried these tags (a re-run): nothing was created. */
  created: boolean;
}

/**
 * Creates the launch template version new instances start from: the group's current version
 * with the fleet tags (system, substituters, keys) on instances and instance metadata tags
 * enabled. A re-run with the same values reuses the group's version, so skip matching leaves
 * instances already on it alone.
 */
export async function prepareLaunchTemplateVersion(
  ec2: EC2Client,
  info: GroupInfo,
  values: SystemTagValues,
  log?: Log,
): Promise<PreparedVersion> {
  const spec = info.launchTemplate;
  const groupName = info.group.AutoScalingGroupName;
  const described = await ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      ...(spec.LaunchTemplateId ? { LaunchTemplateId: spec.LaunchTemplateId } : { LaunchTemplateName: spec.LaunchTemplateName }),
      Versions: [spec.Version ?? '$Default'],
    }),
  );
  const source: LaunchTemplateVersion | undefined = described.LaunchTemplateVersions?.[0];
  if (!source?.LaunchTemplateId || source.VersionNumber === undefined) {
    throw new AsgError(`launch template ${spec.LaunchTemplateName ?? spec.LaunchTemplateId} version ${spec.Version ?? '$Default'} of ${groupName} was not found`);
  }
  const data = source.LaunchTemplateData ?? {};
  const tags = systemTags(values);
  const previousSystem = instanceTagValue(data.TagSpecifications, TAG_SYSTEM);
  const pinned = spec.Version !== undefined && /^\d+$/.test(spec.Version);
  const same =
    pinned &&
    previousSystem === values.system &&
    instanceTagValue(data.TagSpecifications, TAG_SUBSTITUTERS) === values.substituters.join(' ') &&
    instanceTagValue(data.TagSpecifications, TAG_TRUSTED_PUBLIC_KEYS) === undefined &&
    data.MetadataOptions?.InstanceMetadataTags === 'enabled';
  const base = { launchTemplateId: source.LaunchTemplateId, sourceVersion: source.VersionNumber, ...(previousSystem ? { previousSystem } : {}) };
  if (same) {
    log?.info(`${groupName}: launch template version ${source.VersionNumber} already carries ${values.system}`);
    return { ...base, version: source.VersionNumber, created: false };
  }
  // The same request again (a retried run) returns the version it created instead of another one.
  const clientToken = createHash('sha256')
    .update(JSON.stringify([groupName, source.LaunchTemplateId, source.VersionNumber, tags]))
    .digest('hex')
    .slice(0, 64);
  const created = await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: source.LaunchTemplateId,
      SourceVersion: String(source.VersionNumber),
      VersionDescription: `fleet ${values.host}: ${values.system.slice(values.system.lastIndexOf('/') + 1)}`.slice(0, 255),
      ClientToken: clientToken,
      LaunchTemplateData: {
        TagSpecifications: mergeTagSpecifications(data.TagSpecifications, tags),
        MetadataOptions: metadataOptionsWithTags(data.MetadataOptions),
      },
    }),
  );
  const version = created.LaunchTemplateVersion?.VersionNumber;
  if (version === undefined) throw new AsgError(`EC2 created no launch template version for ${groupName}`);
  for (const warning of created.Warning?.Errors ?? []) log?.warning(`${groupName}: launch template version ${version}: ${warning.Code ?? ''} ${warning.Message ?? ''}`.trim());
  log?.info(`${groupName}: launch template ${source.LaunchTemplateId} version ${version} (from ${source.VersionNumber}) → ${values.system}`);
  return { ...base, version, created: true };
}

/** The desired configuration of the refresh: the exact new version (a rollback needs one). */
export function desiredConfiguration(info: GroupInfo, prepared: PreparedVersion): DesiredConfiguration {
  const spec: LaunchTemplateSpecification = { LaunchTemplateId: prepared.launchTemplateId, Version: String(prepared.version) };
  if (!info.mixed) return { LaunchTemplate: spec };
  const policy = info.group.MixedInstancesPolicy;
  return {
    MixedInstancesPolicy: {
      ...(policy?.InstancesDistribution ? { InstancesDistribution: policy.InstancesDistribution } : {}),
      LaunchTemplate: { LaunchTemplateSpecification: spec, ...(policy?.LaunchTemplate?.Overrides ? { Overrides: policy.LaunchTemplate.Overrides } : {}) },
    },
  };
}
