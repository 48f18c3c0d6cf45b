import type { CacheUrl } from '../../src/cache/open-store.js';
import { clockFromEnv } from '../../src/runner/clock.js';
import { InputError, shown } from '../../src/runner/index.js';
import { parseCacheInput } from '../../src/runner/cache-input.js';
import type { Clock } from '../../src/util/async.js';
import { readGcInputs, type GcInputs } from './inputs.js';

export interface GcSettings {
  inputs: GcInputs;
  cache: CacheUrl;
  region: string;
  clock: Clock;
}

/** Inputs, and what depends on several of them, all checked before the cache is read. */
export function readGcSettings(env: NodeJS.ProcessEnv = process.env): GcSettings {
  const inputs = readGcInputs();
  if (!inputs.cache) throw new InputError('cache', 'is required: the binary cache to collect', 's3://my-nix-cache?region=eu-west-1');
  const cache = parseCacheInput('cache', inputs.cache, env);
  if (cache.kind === 'nix-copy') throw new InputError('cache', `${shown(cache.url)} is an SSH store, which has no objects to list; collect it with nix-collect-garbage on its host`, 's3://my-nix-cache?region=eu-west-1');
  if (inputs['role-to-assume'] && cache.kind !== 's3') {
    throw new InputError('role-to-assume', `${shown(inputs['role-to-assume'])} only applies to an s3:// cache, and cache is ${shown(cache.url)}`, 'arn:aws:iam::123456789012:role/nix-cache-gc');
  }
  const region = inputs['aws-region'] ?? (cache.kind === 's3' ? cache.location.region : undefined) ?? env.AWS_REGION ?? 'us-east-1';
  return { inputs, cache, region, clock: clockFromEnv(env) };
}
