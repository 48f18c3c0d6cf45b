import { amount, boolean, choice, custom, duration, integer, json, list, parseInputs, secret, string, type InputReader } from '../../src/runner/index.js';
import { FLAKE_REF, FLAKE_REF_PROBLEM, publicKeyProblem, substituterProblem } from '../../src/runner/input-forms.js';
import { DEPLOY_ACTIONS } from '../../src/deploy/actions.js';
import { parseKnownHosts } from '../../src/deploy/ssh/config.js';
import { SSH_USER } from '../../src/util/ssh-names.js';
import { AWS_REGION } from '../../src/aws/validate.js';
import { MANIFEST_LIFETIME_MAX, MANIFEST_LIFETIME_MIN } from '../../src/deploy/pull/publish.js';
import {
  CONFIRM_TIMEOUT_MAX,
  CONFIRM_TIMEOUT_MIN,
  HEALTH_CHECK_EXAMPLE,
  HEALTH_CHECK_TIMEOUT_MAX,
  HEALTH_CHECK_TIMEOUT_MIN,
  parseHealthCheckLines,
  type HealthCheckLine,
} from '../../src/deploy/settings.js';

/** The longest `wait` for pull hosts: the job limit of a self-hosted runner (a GitHub-hosted job stops after 6h). */
export const WAIT_MAX = '5d';

function storePathMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('must be a JSON object from host to store path');
  for (const [host, path] of Object.entries(value)) {
    if (typeof path !== 'string' || !/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+$/.test(path)) {
      throw new Error(`the path of "${host}", ${JSON.stringify(path)}, is not a store path (/nix/store/<32 characters>-<name>)`);
    }
  }
  return value as Record<string, string>;
}

/** Says what is wrong with the form of a private key, never echoing it. */
function privateKeyProblem(key: string): string | undefined {
  if (/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(key)) return 'is a public key (one line, "ssh-ed25519 AAAA…"); give the private key file, from its BEGIN line to its END line';
  if (!/^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----\n[\s\S]+\n-----END ([A-Z]+ )?PRIVATE KEY-----$/.test(key.replace(/\r\n/g, '\n'))) {
    return 'is not a private key file: give all of it, from "-----BEGIN OPENSSH PRIVATE KEY-----" to its END line (the value is not shown: it is a secret)';
  }
  return undefined;
}

export const DEPLOY_INPUTS = {
  inventory: string({ fallback: 'fleet.yaml', example: 'fleet.yaml' }),
  environment: string({ required: true, example: 'production' }),
  hosts: list({ required: true, example: 'all' }),
  'store-paths': json({ example: '${{ needs.build.outputs.store-paths }}', validate: storePathMap }),
  flake: string({ fallback: '.', pattern: FLAKE_REF, patternProblem: FLAKE_REF_PROBLEM, example: '.' }),
  action: choice(DEPLOY_ACTIONS, { fallback: 'switch', example: 'switch' }),
  canary: integer({ fallback: 1, min: 0, example: '1' }),
  'max-concurrency': amount({ fallback: { percent: 25 }, example: '25%' }),
  'max-errors': amount({ fallback: { count: 0 }, example: '10%' }),
  'health-checks': custom<HealthCheckLine[], { fallback: HealthCheckLine[]; example: string }>({ fallback: [], example: HEALTH_CHECK_EXAMPLE, convert: parseHealthCheckLines }),
  'health-check-timeout': duration({ fallback: 60_000, min: HEALTH_CHECK_TIMEOUT_MIN, max: HEALTH_CHECK_TIMEOUT_MAX, example: '60s' }),
  rollback: choice(['auto', 'off'], { fallback: 'auto', example: 'auto' }),
  'confirm-timeout': duration({ fallback: 90_000, min: CONFIRM_TIMEOUT_MIN, max: CONFIRM_TIMEOUT_MAX, example: '90s' }),
  'ssh-private-key': secret({ example: '${{ secrets.DEPLOY_SSH_KEY }}', problem: privateKeyProblem }),
  'ssh-known-hosts': custom<string, { example: string }>({ example: 'web1.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…', convert: parseKnownHosts }),
  'ssh-user': string({ pattern: SSH_USER, patternProblem: 'is not a user name ssh takes as it is (letters, digits, ".", "-" and "_", starting with a letter)', example: 'root' }),
  substituters: list({ example: 'https://cache.example.org', problem: substituterProblem }),
  'trusted-public-keys': list({ example: 'cache.example.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=', problem: publicKeyProblem }),
  'manifest-store': string({ pattern: /^(s3|https?|file):\/\/\S+$/, patternProblem: 'must start with s3://, http://, https:// or file://', example: 's3://my-nix-cache?region=eu-west-1' }),
  'manifest-signing-key': secret({ example: '${{ secrets.FLEET_MANIFEST_KEY }}' }),
  wait: duration({ fallback: 0, max: WAIT_MAX, example: '30m' }),
  'activate-now': boolean({ fallback: false, example: 'true' }),
  nudge: boolean({ fallback: false, example: 'true' }),
  'manifest-lifetime': duration({ fallback: 30 * 86_400_000, min: MANIFEST_LIFETIME_MIN, max: MANIFEST_LIFETIME_MAX, example: '30d' }),
  'role-to-assume': string({ pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, patternProblem: 'is not an IAM role ARN', example: 'arn:aws:iam::123456789012:role/fleet-deployer' }),
  'aws-region': string({ pattern: AWS_REGION, patternProblem: 'is not an AWS region', example: 'us-east-1' }),
  audience: string({ fallback: 'sts.amazonaws.com', example: 'sts.amazonaws.com' }),
  'github-token': secret({ example: '${{ github.token }}' }),
  deployment: boolean({ fallback: true, example: 'true' }),
  'dry-run': boolean({ fallback: false, example: 'true' }),
};

export function readDeployInputs(read?: InputReader) {
  return parseInputs(DEPLOY_INPUTS, read);
}

export type DeployInputs = ReturnType<typeof readDeployInputs>;
