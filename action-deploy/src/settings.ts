import { resolveDeploySettings, withDefaultTimeout, type DeployRequest, type DeploySettings } from '../../src/deploy/index.js';
import { InputError, shown, type InputReader } from '../../src/runner/index.js';
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
  if (inputs.substituters.length > 0 && inputs['trusted-public-keys'].length === 0) {
    throw new InputError('trusted-public-keys', `is required with substituters ${shown(inputs.substituters.join(', '))}: hosts refuse paths no trusted key signed`, 'cache.example.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=');
  }
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
