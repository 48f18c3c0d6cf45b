import { randomBytes, randomUUID } from 'node:crypto';
import { asList, asRecord, asString, AwsFault, type QueryValue, type XmlValue } from './wire.js';

/** A launch template version's data, in the SDK's shape (the part fleet reads and writes). */
export interface TemplateData {
  TagSpecifications?: { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
  MetadataOptions?: { HttpTokens?: string; InstanceMetadataTags?: string };
}

interface TemplateVersion {
  number: number;
  description?: string;
  created: Date;
  data: TemplateData;
  clientToken?: string;
}

interface LaunchTemplate {
  id: string;
  name: string;
  defaultVersion: number;
  versions: TemplateVersion[];
}

interface Instance {
  id: string;
  version: number;
}

interface Group {
  name: string;
  region: string;
  template: LaunchTemplate;
  /** The group's launch template version: a number, `$Latest` or `$Default`. */
  version: string;
  instances: Instance[];
}

interface Refresh {
  id: string;
  group: string;
  status: 'Pending' | 'InProgress' | 'Successful' | 'Failed' | 'Cancelled' | 'RollbackSuccessful';
  reason?: string;
  started: Date;
  ended?: Date;
  toVersion: number;
  preferences: Record<string, QueryValue>;
  rollbackReason?: string;
}

export interface GroupSetup {
  name: string;
  region: string;
  launchTemplate: { name: string; data?: TemplateData };
  /** Instances at the template's first version. */
  capacity: number;
}

/**
 * What a refresh does once it runs: `healthy` replaces the instances; `unhealthy` has the new
 * instances fail their health checks, and the refresh rolls back when its preferences ask.
 */
export type RefreshVerdict = 'healthy' | 'unhealthy';

const ACCOUNT = '123456789012';
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const systemTag = (data: TemplateData): string | undefined =>
  data.TagSpecifications?.find((s) => s.ResourceType === 'instance')?.Tags.find((t) => t.Key === 'fleet:system')?.Value;

/**
 * The EC2 launch templates and Auto Scaling groups of one account: DescribeAutoScalingGroups,
 * Start/Describe/CancelInstanceRefresh and Describe/CreateLaunchTemplateVersion(s), answered as
 * the query and EC2 query protocols do. An instance refresh finishes when it is first described.
 */
export class AutoScalingAccount {
  private readonly templates = new Map<string, LaunchTemplate>();
  private readonly groups = new Map<string, Group>();
  private readonly refreshes: Refresh[] = [];
  /** Decides each refresh's fate (default: every new instance is healthy). */
  verdict: (group: string, system: string | undefined) => RefreshVerdict = () => 'healthy';

  constructor(setups: readonly GroupSetup[]) {
    for (const setup of setups) {
      const template = this.templates.get(setup.launchTemplate.name) ?? {
        id: `lt-${hex(9).slice(0, 17)}`,
        name: setup.launchTemplate.name,
        defaultVersion: 1,
        versions: [{ number: 1, created: new Date(), data: setup.launchTemplate.data ?? { MetadataOptions: { HttpTokens: 'required' } } }],
      };
      this.templates.set(template.name, template);
      const instances = Array.from({ length: setup.capacity }, () => ({ id: `i-${hex(9).slice(0, 17)}`, version: 1 }));
      this.groups.set(setup.name, { name: setup.name, region: setup.region, template, version: '1', instances });
    }
  }

  /** The system each of the group's instances runs: its launch template version's fleet:system tag. */
  instanceSystems(groupName: string): (string | undefined)[] {
    const group = this.group(groupName);
    return group.instances.map((i) => systemTag(this.version(group.template, i.version).data));
  }

  /** The id of the launch template named `name`, if there is one. */
  launchTemplateId(name: string): string | undefined {
    return this.templates.get(name)?.id;
  }

  /** The group's instance refreshes, oldest first. */
  refreshesOf(groupName: string): { status: string; toVersion: number; preferences: Record<string, QueryValue> }[] {
    return this.refreshes.filter((r) => r.group === groupName).map((r) => ({ status: r.status, toVersion: r.toVersion, preferences: r.preferences }));
  }

  /** Auto Scaling's query actions; `resource` is what IAM would check (the group). */
  autoScaling(action: string, params: Record<string, QueryValue>): { resource: string; result: () => XmlValue } {
    switch (action) {
      case 'DescribeAutoScalingGroups': {
        const names = asList(params.AutoScalingGroupNames).map((n) => String(n));
        return { resource: names.join(','), result: () => ({ AutoScalingGroups: names.flatMap((n) => (this.groups.has(n) ? [this.describeGroup(this.group(n))] : [])) }) };
      }
      case 'StartInstanceRefresh': {
        const name = required(params, 'AutoScalingGroupName');
        return { resource: name, result: () => ({ InstanceRefreshId: this.startRefresh(name, params) }) };
      }
      case 'DescribeInstanceRefreshes': {
        const name = required(params, 'AutoScalingGroupName');
        const ids = new Set(asList(params.InstanceRefreshIds).map(String));
        return {
          resource: name,
          result: () => {
            this.group(name);
            const listed = this.refreshes.filter((r) => r.group === name && (ids.size === 0 || ids.has(r.id)));
            for (const refresh of listed) this.run(refresh);
            return { InstanceRefreshes: listed.map((r) => this.describeRefresh(r)) };
          },
        };
      }
      case 'CancelInstanceRefresh': {
        const name = required(params, 'AutoScalingGroupName');
        return {
          resource: name,
          result: () => {
            const active = this.refreshes.find((r) => r.group === name && (r.status === 'Pending' || r.status === 'InProgress'));
            if (!active) throw new AwsFault(400, 'ActiveInstanceRefreshNotFound', `No in progress or pending Instance Refresh found for Auto Scaling group ${name}`);
            active.status = 'Cancelled';
            active.ended = new Date();
            return { InstanceRefreshId: active.id };
          },
        };
      }
      default:
        throw new AwsFault(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  /** EC2's query actions for launch templates. */
  ec2(action: string, params: Record<string, QueryValue>): { resource: string; result: () => XmlValue } {
    switch (action) {
      case 'DescribeLaunchTemplateVersions': {
        const template = this.template(params);
        return {
          resource: template.id,
          result: () => {
            const wanted = asList(params.LaunchTemplateVersion).map(String);
            const versions = wanted.length === 0 ? template.versions : wanted.map((v) => this.version(template, this.resolve(template, v)));
            return { launchTemplateVersionSet: versions.map((v) => this.describeVersion(template, v)) };
          },
        };
      }
      case 'CreateLaunchTemplateVersion': {
        const template = this.template(params);
        return { resource: template.id, result: () => ({ launchTemplateVersion: this.describeVersion(template, this.createVersion(template, params)) }) };
      }
      default:
        throw new AwsFault(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  private group(name: string): Group {
    const group = this.groups.get(name);
    if (!group) throw new AwsFault(400, 'ValidationError', `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
    return group;
  }

  private template(params: Record<string, QueryValue>): LaunchTemplate {
    const id = asString(params.LaunchTemplateId);
    const name = asString(params.LaunchTemplateName);
    const template = [...this.templates.values()].find((t) => (id ? t.id === id : t.name === name));
    if (!template) throw new AwsFault(400, id ? 'InvalidLaunchTemplateId.NotFound' : 'InvalidLaunchTemplateName.NotFoundException', `The specified launch template, with ${id ? `template ID ${id}` : `template name ${name}`}, does not exist.`);
    return template;
  }

  private resolve(template: LaunchTemplate, version: string): number {
    if (version === '$Latest') return Math.max(...template.versions.map((v) => v.number));
    if (version === '$Default') return template.defaultVersion;
    return Number(version);
  }

  private version(template: LaunchTemplate, number: number): TemplateVersion {
    const version = template.versions.find((v) => v.number === number);
    if (!version) throw new AwsFault(400, 'InvalidLaunchTemplateId.VersionNotFound', `Could not find launch template version ${number} for template ${template.id}`);
    return version;
  }

  private createVersion(template: LaunchTemplate, params: Record<string, QueryValue>): TemplateVersion {
    const token = asString(params.ClientToken);
    const again = token ? template.versions.find((v) => v.clientToken === token) : undefined;
    if (again) return again;
    const source = params.SourceVersion ? this.version(template, this.resolve(template, String(params.SourceVersion))).data : {};
    const given = asRecord(params.LaunchTemplateData);
    const data: TemplateData = structuredClone(source);
    if (given.TagSpecification) {
      data.TagSpecifications = asList(given.TagSpecification).map((s) => {
        const spec = asRecord(s);
        return { ResourceType: String(spec.ResourceType), Tags: asList(spec.Tag).map((t) => ({ Key: String(asRecord(t).Key), Value: String(asRecord(t).Value ?? '') })) };
      });
    }
    if (given.MetadataOptions) data.MetadataOptions = { ...data.MetadataOptions, ...(asRecord(given.MetadataOptions) as Record<string, string>) };
    const version: TemplateVersion = {
      number: Math.max(...template.versions.map((v) => v.number)) + 1,
      created: new Date(),
      data,
      ...(asString(params.VersionDescription) ? { description: asString(params.VersionDescription) as string } : {}),
      ...(token ? { clientToken: token } : {}),
    };
    template.versions.push(version);
    return version;
  }

  private startRefresh(name: string, params: Record<string, QueryValue>): string {
    const group = this.group(name);
    if (this.refreshes.some((r) => r.group === name && (r.status === 'Pending' || r.status === 'InProgress'))) {
      throw new AwsFault(400, 'InstanceRefreshInProgress', `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`);
    }
    const desired = asRecord(asRecord(params.DesiredConfiguration).LaunchTemplate);
    const id = asString(desired.LaunchTemplateId) ?? group.template.id;
    if (id !== group.template.id) throw new AwsFault(400, 'ValidationError', `Launch template ${id} is not the group's (${group.template.id})`);
    const toVersion = this.resolve(group.template, asString(desired.Version) ?? group.version);
    this.version(group.template, toVersion);
    const refresh: Refresh = { id: randomUUID(), group: name, status: 'Pending', started: new Date(), toVersion, preferences: asRecord(params.Preferences) };
    this.refreshes.push(refresh);
    return refresh.id;
  }

  /** Carries a pending refresh out: new instances on the version, or a rollback when they are unhealthy. */
  private run(refresh: Refresh): void {
    if (refresh.status !== 'Pending') return;
    const group = this.group(refresh.group);
    const system = systemTag(this.version(group.template, refresh.toVersion).data);
    refresh.ended = new Date();
    if (this.verdict(group.name, system) === 'unhealthy') {
      const autoRollback = refresh.preferences.AutoRollback === 'true';
      refresh.status = autoRollback ? 'RollbackSuccessful' : 'Failed';
      refresh.reason = 'Instances failed to pass their health checks.';
      if (autoRollback) refresh.rollbackReason = 'Instances failed to pass their health checks.';
      return;
    }
    const skipMatching = refresh.preferences.SkipMatching === 'true';
    group.instances = group.instances.map((i) => (skipMatching && i.version === refresh.toVersion ? i : { id: `i-${hex(9).slice(0, 17)}`, version: refresh.toVersion }));
    group.version = String(refresh.toVersion);
    refresh.status = 'Successful';
  }

  private describeGroup(group: Group): XmlValue {
    const spec = (version: string) => ({ LaunchTemplateId: group.template.id, LaunchTemplateName: group.template.name, Version: version });
    return {
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: `arn:aws:autoscaling:${group.region}:${ACCOUNT}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${group.name}`,
      LaunchTemplate: spec(group.version),
      MinSize: 0,
      MaxSize: Math.max(1, group.instances.length * 2),
      DesiredCapacity: group.instances.length,
      DefaultCooldown: 300,
      AvailabilityZones: [`${group.region}a`, `${group.region}b`],
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 300,
      Instances: group.instances.map((i) => ({
        InstanceId: i.id,
        InstanceType: 't4g.large',
        AvailabilityZone: `${group.region}a`,
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        LaunchTemplate: spec(String(i.version)),
        ProtectedFromScaleIn: false,
      })),
      CreatedTime: new Date('2026-01-05T09:00:00Z'),
    };
  }

  private describeRefresh(r: Refresh): XmlValue {
    const group = this.group(r.group);
    const done = r.status === 'Successful';
    return {
      InstanceRefreshId: r.id,
      AutoScalingGroupName: r.group,
      Status: r.status,
      StatusReason: r.reason,
      StartTime: r.started,
      EndTime: r.ended,
      PercentageComplete: done ? 100 : 0,
      InstancesToUpdate: done ? 0 : group.instances.length,
      RollbackDetails: r.rollbackReason ? { RollbackReason: r.rollbackReason, RollbackStartTime: r.ended } : undefined,
    };
  }

  private describeVersion(template: LaunchTemplate, v: TemplateVersion): XmlValue {
    return {
      launchTemplateId: template.id,
      launchTemplateName: template.name,
      versionNumber: v.number,
      versionDescription: v.description,
      createTime: v.created,
      createdBy: `arn:aws:iam::${ACCOUNT}:root`,
      defaultVersion: v.number === template.defaultVersion,
      launchTemplateData: {
        tagSpecificationSet: v.data.TagSpecifications?.map((s) => ({ resourceType: s.ResourceType, tagSet: s.Tags.map((t) => ({ key: t.Key, value: t.Value })) })),
        metadataOptions: v.data.MetadataOptions ? { httpTokens: v.data.MetadataOptions.HttpTokens, instanceMetadataTags: v.data.MetadataOptions.InstanceMetadataTags } : undefined,
      },
    };
  }
}

function required(params: Record<string, QueryValue>, name: string): string {
  const value = asString(params[name]);
  if (!value) throw new AwsFault(400, 'ValidationError', `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return value;
}
