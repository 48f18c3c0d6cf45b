import { resolveDeploySettings, withDefaultTimeout, type DeployRequest, type DeploySettings } from '../../src/deploy/index.js';
import type { InputReader } from '../../src/runner/index.js';
import { readDeployInputs, type DeployInputs } from './inputs.js';

export interface DeployActionSettings {
  inputs: DeployInputs;
  rollout: NonNullable<DeployRequest['rollout']>;
  deploy: DeploySettings;
  ssh: NonNullable<DeployRequest['ssh']>;
}

/** Inputs, then the rollout, deploy and ssh settings they make, before any host is contacted. */
export function readDeploySettings(read?: InputReader): DeployActionSettings {
  const inputs = readDeployInputs(read);
  return {
    inputs,
    rollout: { canary: inputs.canary, maxConcurrency: inputs['max-concurrency'], maxErrors: inputs['max-errors'] },
    deploy: resolveDeploySettings({
      action: inputs.action,
      rollback: inputs.rollback,
      confirmTimeoutMs: inputs['confirm-timeout'],
      healthChecks: withDefaultTimeout(inputs['health-checks'], inputs['health-check-timeout']),
      substituters: inputs.substituters,
      trustedPublicKeys: inputs['trusted-public-keys'],
    }),
    ssh: {
      ...(inputs['ssh-private-key'] ? { privateKey: inputs['ssh-private-key'] } : {}),
      ...(inputs['ssh-known-hosts'] ? { knownHosts: inputs['ssh-known-hosts'] } : {}),
      ...(inputs['ssh-user'] ? { user: inputs['ssh-user'] } : {}),
    },
  };
}
