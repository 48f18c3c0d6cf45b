import { openStore, type CacheUrl } from '../../src/cache/open-store.js';
import { parseSigningKey } from '../../src/cache/signing.js';
import { AsgTransport } from '../../src/deploy/aws-asg/index.js';
import { SsmTransport } from '../../src/deploy/aws-ssm/index.js';
import { PullTransport } from '../../src/deploy/pull/transport.js';
import { SshSession, type SshSessionOptions } from '../../src/deploy/ssh/session.js';
import type { DeploySettings, Transport } from '../../src/deploy/index.js';
import type { DeployTarget, Host } from '../../src/fleet/index.js';
import type { RolloutOptions } from '../../src/rollout/index.js';
import { assumeRoleForThisStep, InputError, type RunContext } from '../../src/runner/index.js';
import { parseCacheInput } from '../../src/runner/cache-input.js';
import type { Log } from '../../src/util/log.js';
import type { DeployInputs } from './inputs.js';

type Method = Exclude<DeployTarget['method'], 'ssh'>;

/** For a dry run: the plan needs to know a method is covered, nothing more. */
const planningOnly = (method: Method): Transport => ({
  method,
  deployHost: () => Promise.reject(new Error('a dry run deploys nothing')),
  close: async () => {},
});

/**
 * Opens the transports the selected hosts need besides ssh, each checked for the inputs it
 * requires before anything is contacted. Credentials are requested only when a transport is used.
 */
export async function openTransports(
  hosts: readonly Host[],
  inputs: DeployInputs,
  settings: DeploySettings,
  rollout: RolloutOptions,
  context: RunContext,
  log: Log,
  ssh: SshSessionOptions = {},
): Promise<Partial<Record<Method, Transport>>> {
  const methods = new Set(hosts.map((h) => h.deploy.method).filter((m): m is Method => m !== 'ssh'));
  if (methods.size === 0) return {};
  if (methods.has('pull')) {
    if (!inputs['manifest-store']) throw new InputError('manifest-store', `is required to deploy pull hosts (${hosts.filter((h) => h.deploy.method === 'pull').map((h) => h.name).join(', ')})`, 's3://my-nix-cache?region=eu-west-1');
    if (!inputs['manifest-signing-key']) throw new InputError('manifest-signing-key', 'is required to deploy pull hosts', '${{ secrets.FLEET_MANIFEST_KEY }}');
  }
  const signingKey = inputs['manifest-signing-key'] ? parseManifestKey(inputs['manifest-signing-key']) : undefined;
  const manifestStore = methods.has('pull') && inputs['manifest-store'] ? parseManifestStore(inputs['manifest-store']) : undefined;
  if (inputs['dry-run']) return Object.fromEntries([...methods].map((m) => [m, planningOnly(m)]));

  const region = inputs['aws-region'];
  const role = inputs['role-to-assume'];
  const credentials = role
    ? assumeRoleForThisStep({ roleToAssume: role, region: region ?? process.env.AWS_REGION ?? 'us-east-1', audience: inputs.audience, durationSeconds: 3600 })
    : undefined;
  const transports: Partial<Record<Method, Transport>> = {};
  if (manifestStore && signingKey) {
    transports.pull = await PullTransport.open({
      store: openStore(manifestStore, { log, ...(credentials && manifestStore.kind === 's3' ? { credentials } : {}) }),
      signingKey,
      settings,
      log,
      ...(context.sha ? { commit: context.sha } : {}),
      waitMs: inputs.wait,
      manifestLifetimeMs: inputs['manifest-lifetime'],
      activateNow: inputs['activate-now'],
      ...(inputs.nudge ? { nudge: await SshSession.open(ssh) } : {}),
    });
  }
  const aws = { log, ...(region ? { region } : {}), ...(credentials ? { credentials } : {}), ...(context.sha ? { commit: context.sha } : {}) };
  if (methods.has('aws-asg')) transports['aws-asg'] = new AsgTransport({ ...aws, settings, rollout });
  if (methods.has('aws-ssm')) transports['aws-ssm'] = new SsmTransport({ ...aws, settings, rollout, comment: `fleet ${context.runUrl}`.slice(0, 100) });
  return transports;
}

function parseManifestStore(text: string): CacheUrl {
  const store = parseCacheInput('manifest-store', text);
  if (store.kind === 'nix-copy') throw new InputError('manifest-store', `${store.url}: manifests are published to a binary cache, not over ssh`, 's3://my-nix-cache?region=eu-west-1');
  return store;
}

function parseManifestKey(text: string) {
  try {
    return parseSigningKey(text);
  } catch (error) {
    throw new InputError('manifest-signing-key', (error as Error).message, '${{ secrets.FLEET_MANIFEST_KEY }}');
  }
}
