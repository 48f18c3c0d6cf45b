import { parseCompression, type Compression } from '../../src/cache/compress.js';
import { KeyFormatError, parsePublicKey, parseSigningKey, type PublicKey, type SigningKey } from '../../src/cache/signing.js';
import type { PushRequest } from '../../src/pipeline/build-and-push.js';
import { inventorySelectors } from '../../src/pipeline/targets.js';
import { assumeRoleForThisStep, InputError, shown, type RunContext } from '../../src/runner/index.js';
import { parseCacheInput } from '../../src/runner/cache-input.js';
import { readBuildInputs, type BuildInputs } from './inputs.js';

export interface BuildSettings {
  inputs: BuildInputs;
  /** Absent when no cache is set: nothing can be pushed. */
  push?: PushRequest;
  cacheForDisplay?: string;
}

/** `shownValue` is the key as the error may show it: a public key, never a secret one. */
function keyInput<T>(name: string, example: string, parse: () => T, shownValue?: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof KeyFormatError) throw new InputError(name, shownValue === undefined ? error.message : `${shown(shownValue)}: ${error.message}`, example);
    throw error;
  }
}

/** Inputs, then everything derived from them, validated before any side effect. */
export function readBuildSettings(): BuildSettings {
  const inputs = readBuildInputs();
  const needInventory = inputs.inventory ? [] : inventorySelectors(inputs.hosts);
  if (needInventory.length > 0) {
    throw new InputError('hosts', `${shown(needInventory.join(', '))} selects by tag, wave or environment, which needs the inventory input (inventory: fleet.yaml)`, 'web*, db1');
  }
  const signingKey: SigningKey | undefined = inputs['signing-key']
    ? keyInput('signing-key', '${{ secrets.NIX_SIGNING_KEY }}', () => parseSigningKey(inputs['signing-key'] as string))
    : undefined;
  const skipUpstream: PublicKey[] = inputs['skip-upstream'].map((text) => keyInput('skip-upstream', 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=', () => parsePublicKey(text), text));
  let compression: Compression;
  try {
    compression = parseCompression(inputs['compression-level'] === undefined ? inputs.compression : `${inputs.compression}:${inputs['compression-level']}`);
  } catch (error) {
    throw new InputError('compression-level', (error as Error).message, '6');
  }
  const cache = inputs.cache ? parseCacheInput('cache', inputs.cache) : undefined;
  const roleToAssume = inputs['role-to-assume'];
  const region = inputs['aws-region'] ?? (cache?.kind === 's3' ? cache.location.region : undefined) ?? process.env.AWS_REGION ?? 'us-east-1';
  if (!cache) return { inputs };
  return {
    inputs,
    cacheForDisplay: cache.url,
    push: {
      cache,
      ...(signingKey ? { signingKey } : {}),
      ...(signingKey && cache.kind === 'nix-copy' ? { signingKeyText: inputs['signing-key'] as string } : {}),
      compression,
      concurrency: inputs.concurrency,
      skipUpstream,
      verifyCache: inputs['verify-cache'],
      storeOptions: async () =>
        roleToAssume && cache.kind === 's3'
          ? { credentials: assumeRoleForThisStep({ roleToAssume, region, audience: inputs.audience, durationSeconds: inputs['role-duration-seconds'] }) }
          : {},
    },
  };
}

/**
 * `early`: closures are pushed as their builds finish, so credentials exist while the build runs;
 * never for a pull request, whose code is not yet reviewed (it pushes once the build is over).
 */
export type PushDecision = { enabled: true; reason: string; request: PushRequest; early: boolean } | { enabled: false; reason: string };

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);

/** `auto` never pushes from a fork's pull request: its build ran untrusted code. */
export function decidePush(settings: BuildSettings, context: RunContext): PushDecision {
  const { push } = settings.inputs;
  const request = settings.push;
  if (push === 'false') return { enabled: false, reason: 'push is false: building only' };
  if (push === 'true') {
    if (!request) throw new InputError('cache', 'is required when push is true', 's3://my-nix-cache?region=eu-west-1');
    return enabled(settings, context, request);
  }
  if (!request) return { enabled: false, reason: 'no cache is set: building only' };
  if (context.fromFork) return { enabled: false, reason: 'a pull request from a fork: building only, nothing is pushed (its code is untrusted)' };
  return enabled(settings, context, request);
}

function enabled(settings: BuildSettings, context: RunContext, request: PushRequest): PushDecision {
  const target = settings.cacheForDisplay as string;
  if (request.cache.kind === 'nix-copy') return { enabled: true, reason: `pushing to ${target} once the build is over (nix copy)`, request, early: false };
  if (PULL_REQUEST_EVENTS.has(context.eventName)) return { enabled: true, reason: `a pull request: pushing to ${target} once the build is over, so no write credential exists while its code builds`, request, early: false };
  return { enabled: true, reason: `pushing to ${target}, each host as soon as it is built`, request, early: true };
}
