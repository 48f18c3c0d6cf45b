import type { CacheUrl } from '../../src/cache/open-store.js';
import type { Clock } from '../../src/util/async.js';
import { clockFromEnv } from '../../src/runner/clock.js';
import { InputError, shown } from '../../src/runner/index.js';
import { parseCacheInput } from '../../src/runner/cache-input.js';
import { readWaveInputs, type WaveInputs } from './inputs.js';

export interface WaveSettings {
  inputs: WaveInputs;
  /** Where the hosts' status reports are, when the cache input is set. */
  cache?: CacheUrl;
  clock: Clock;
  region: string;
}

/** Inputs, then what depends on several of them, all checked before anything is read or written. */
export function readWaveSettings(env: NodeJS.ProcessEnv = process.env): WaveSettings {
  const inputs = readWaveInputs();
  if (!inputs.token && (inputs.mode !== 'status' || inputs.abort || inputs['status-source'] === 'deployments')) {
    throw new InputError('token', 'is required to open pull requests, to abort, and to read deployments (only mode status works without it)', '${{ github.token }}');
  }
  const quorum = inputs.quorum && ('count' in inputs.quorum ? String(inputs.quorum.count) : `${inputs.quorum.percent}%`);
  if (quorum === '0' || quorum === '0%') {
    throw new InputError('quorum', `${shown(quorum)} must be at least 1 host or 1%`, '80%');
  }
  const cache = inputs.cache ? parseCacheInput('cache', inputs.cache, env) : undefined;
  if (inputs['status-source'] === 'cache' && !inputs.cache && !inputs.abort) {
    throw new InputError('cache', 'is required when status-source is cache (the hosts write their reports to fleet/status/<host>.json there)', 's3://my-nix-cache?region=eu-west-1');
  }
  if (inputs['role-to-assume'] && cache?.kind !== 's3') {
    throw new InputError('role-to-assume', `${shown(inputs['role-to-assume'])} only applies to an s3:// cache, and cache is ${cache ? shown(cache.url) : 'not set'}`, 'arn:aws:iam::123456789012:role/fleet-status-reader');
  }
  if (inputs.history && !cache) {
    throw new InputError('cache', 'is required when history is true (the status history records are appended to fleet/status-history/ there)', 's3://my-nix-cache?region=eu-west-1');
  }
  const region = inputs['aws-region'] ?? (cache?.kind === 's3' ? cache.location.region : undefined) ?? env.AWS_REGION ?? 'us-east-1';
  return { inputs, ...(cache ? { cache } : {}), clock: clockFromEnv(env), region };
}
