import { describe, expect, it } from '@jest/globals';
import { mergeTagSpecifications, metadataOptionsWithTags, planRefresh, systemTags } from '../../../src/deploy/aws-asg/index.js';

const SYSTEM = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web-24.11';

describe('planRefresh', () => {
  const base = { checkpointDelaySeconds: 600, rollback: 'auto' as const };

  it.each([
    // capacity, canary, batch → MinHealthyPercentage, checkpoints
    [10, 1, { count: 3 }, 70, [10, 40, 70, 100]],
    [10, 0, { count: 5 }, 50, [50, 100]],
    [10, 2, { percent: 25 }, 70, [20, 50, 80, 100]],
    [3, 1, { count: 1 }, 66, [33, 66, 100]],
    [4, 1, { count: 4 }, 0, [25, 100]],
    [200, 1, { percent: 10 }, 90, [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]],
    [5, 0, { count: 5 }, 0, undefined],
    [1, 1, { count: 1 }, 0, undefined],
  ])('%i instances, canary %i, batch %j', (capacity, canary, batch, minHealthy, checkpoints) => {
    const plan = planRefresh({ ...base, desiredCapacity: capacity, canary, batch });
    expect(plan.preferences.MinHealthyPercentage).toBe(minHealthy);
    expect(plan.preferences.CheckpointPercentages).toEqual(checkpoints);
    expect(plan.preferences.CheckpointDelay).toBe(checkpoints ? 600 : undefined);
    expect(plan.preferences.SkipMatching).toBe(true);
    expect(plan.preferences.AutoRollback).toBe(true);
    if (checkpoints) {
      // AWS: ascending, unique, the last one 100.
      expect([...checkpoints].sort((a, b) => a - b)).toEqual(checkpoints);
      expect(new Set(checkpoints).size).toBe(checkpoints.length);
      expect(checkpoints.at(-1)).toBe(100);
    }
  });

  it('turns automatic rollback off with rollback: off, and passes the warmup', () => {
    const plan = planRefresh({ ...base, desiredCapacity: 4, canary: 1, batch: { count: 1 }, rollback: 'off', instanceWarmupSeconds: 90 });
    expect(plan.preferences).toMatchObject({ AutoRollback: false, InstanceWarmup: 90 });
  });

  it('handles an empty group', () => {
    const plan = planRefresh({ ...base, desiredCapacity: 0, canary: 1, batch: { count: 1 } });
    expect(plan.preferences.CheckpointPercentages).toBeUndefined();
    expect(plan.description).toBe('0 instances, 1 at a time');
  });
});

describe('instance tags', () => {
  it('carry the system and caches, never the keys that vouch for it; lists are space separated', () => {
    expect(systemTags({ host: 'web', system: SYSTEM, substituters: ['https://a.example', 'https://b.example'] })).toEqual([
      { Key: 'fleet:host', Value: 'web' },
      { Key: 'fleet:system', Value: SYSTEM },
      { Key: 'fleet:substituters', Value: 'https://a.example https://b.example' },
    ]);
  });

  it('refuse values EC2 cannot hold, naming the tag', () => {
    const caches = Array.from({ length: 12 }, (_, i) => `https://cache-${i}.example.org`);
    expect(() => systemTags({ host: 'web', system: SYSTEM, substituters: caches })).toThrow(
      /fleet:substituters for web is 3\d\d characters, more than an EC2 tag value holds \(256\)/,
    );
    expect(() => systemTags({ host: 'web', system: SYSTEM, substituters: [] })).toThrow(/need substituters/);
  });

  it('replace only the fleet tags on instances and keep everything else', () => {
    const merged = mergeTagSpecifications(
      [
        { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }, { Key: 'fleet:system', Value: 'old' }] },
        { ResourceType: 'network-interface', Tags: [{ Key: 'Name', Value: 'web-eni' }] },
      ],
      [{ Key: 'fleet:system', Value: SYSTEM }],
    );
    expect(merged).toEqual([
      { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }, { Key: 'fleet:system', Value: SYSTEM }] },
      { ResourceType: 'network-interface', Tags: [{ Key: 'Name', Value: 'web-eni' }] },
    ]);
    expect(mergeTagSpecifications(undefined, [{ Key: 'fleet:system', Value: SYSTEM }])).toEqual([{ ResourceType: 'instance', Tags: [{ Key: 'fleet:system', Value: SYSTEM }] }]);
  });

  it('require IMDSv2 and metadata tags, keeping the hop limit', () => {
    expect(metadataOptionsWithTags({ State: 'applied', HttpTokens: 'optional', HttpPutResponseHopLimit: 3, HttpEndpoint: 'enabled', InstanceMetadataTags: 'disabled' })).toEqual({
      HttpPutResponseHopLimit: 3,
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      InstanceMetadataTags: 'enabled',
    });
  });
});
