import type {
  LaunchTemplateInstanceMetadataOptions,
  LaunchTemplateInstanceMetadataOptionsRequest,
  LaunchTemplateTagSpecification,
  LaunchTemplateTagSpecificationRequest,
  Tag,
} from '@aws-sdk/client-ec2';

/**
 * The instance tags that tell a new instance which system to run. The user-data script
 * (host/aws/user-data.sh) reads them from the instance metadata service (IMDSv2), which only serves
 * tags when the launch template enables `InstanceMetadataTags`, and only keys without `/` or spaces.
 * The keys that vouch for the system are never a tag (anyone with ec2:CreateTags could name their
 * own): they come from the launch template's user data or the AMI. `fleet:trusted-public-keys` is
 * only listed to be removed from templates older versions of fleet wrote.
 */
export const TAG_SYSTEM = 'fleet:system';
export const TAG_SUBSTITUTERS = 'fleet:substituters';
export const TAG_TRUSTED_PUBLIC_KEYS = 'fleet:trusted-public-keys';
export const TAG_HOST = 'fleet:host';
export const TAG_COMMIT = 'fleet:commit';
export const FLEET_TAG_KEYS: readonly string[] = [TAG_SYSTEM, TAG_SUBSTITUTERS, TAG_TRUSTED_PUBLIC_KEYS, TAG_HOST, TAG_COMMIT];

/** EC2 limits a tag value to 256 Unicode characters. */
export const MAX_TAG_VALUE = 256;

export interface SystemTagValues {
  host: string;
  system: string;
  substituters: readonly string[];
  commit?: string;
}

/** The fleet tags for a system; space-separated lists, each value within EC2's limit. */
export function systemTags(values: SystemTagValues): Tag[] {
  const tags: Tag[] = [
    { Key: TAG_HOST, Value: values.host },
    { Key: TAG_SYSTEM, Value: values.system },
    { Key: TAG_SUBSTITUTERS, Value: values.substituters.join(' ') },
  ];
  if (values.commit) tags.push({ Key: TAG_COMMIT, Value: values.commit });
  for (const tag of tags) {
    const value = tag.Value ?? '';
    if ([...value].length > MAX_TAG_VALUE) {
      throw new Error(`${tag.Key} for ${values.host} is ${[...value].length} characters, more than an EC2 tag value holds (${MAX_TAG_VALUE}); use fewer or shorter ${tag.Key === TAG_SYSTEM ? 'names' : 'entries'}`);
    }
    if (/[\n\r\0]/.test(value)) throw new Error(`${tag.Key} for ${values.host} contains a line break`);
  }
  if (values.substituters.length === 0) throw new Error(`aws-asg host ${values.host}: new instances need substituters to fetch the system from (example: https://cache.example.org)`);
  return tags;
}

/** Reads the value of a tag from a launch template's instance tags. */
export function instanceTagValue(specs: readonly LaunchTemplateTagSpecification[] | undefined, key: string): string | undefined {
  return specs?.find((s) => s.ResourceType === 'instance')?.Tags?.find((t) => t.Key === key)?.Value;
}

/**
 * The source version's tag specifications with the fleet tags replaced on instances (and a
 * specification for instances added when there was none). Other resource types and other
 * instance tags are kept: a new version's TagSpecifications replace the source's whole list.
 */
export function mergeTagSpecifications(source: readonly LaunchTemplateTagSpecification[] | undefined, fleetTags: readonly Tag[]): LaunchTemplateTagSpecificationRequest[] {
  const specs: LaunchTemplateTagSpecificationRequest[] = (source ?? []).map((s) => ({ ResourceType: s.ResourceType, Tags: [...(s.Tags ?? [])] }));
  let instance = specs.find((s) => s.ResourceType === 'instance');
  if (!instance) {
    instance = { ResourceType: 'instance', Tags: [] };
    specs.push(instance);
  }
  instance.Tags = [...(instance.Tags ?? []).filter((t) => !FLEET_TAG_KEYS.includes(t.Key ?? '')), ...fleetTags];
  return specs;
}

/** The source's metadata options with IMDSv2 required and instance tags served. */
export function metadataOptionsWithTags(source: LaunchTemplateInstanceMetadataOptions | undefined): LaunchTemplateInstanceMetadataOptionsRequest {
  const options: LaunchTemplateInstanceMetadataOptionsRequest = {};
  if (source?.HttpPutResponseHopLimit !== undefined) options.HttpPutResponseHopLimit = source.HttpPutResponseHopLimit;
  if (source?.HttpProtocolIpv6 !== undefined) options.HttpProtocolIpv6 = source.HttpProtocolIpv6;
  options.HttpEndpoint = 'enabled';
  options.HttpTokens = 'required';
  options.InstanceMetadataTags = 'enabled';
  return options;
}
