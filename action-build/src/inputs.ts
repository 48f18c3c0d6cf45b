import { AWS_REGION } from '../../src/aws/validate.js';
import { NIX_SYSTEM } from '../../src/fleet/schema.js';
import { parseMachines, type BuildMachine } from '../../src/nix/machines.js';
import { DEFAULT_RUNNERS, parseRunners, type RunnerLabels } from '../../src/pipeline/build-plan.js';
import { boolean, choice, custom, integer, list, parseInputs, secret, string, type InputReader } from '../../src/runner/index.js';
import { FLAKE_REF, FLAKE_REF_PROBLEM, installableProblem } from '../../src/runner/input-forms.js';

export const CACHE_EXAMPLE = 's3://my-nix-cache?region=eu-west-1';

export const BUILD_INPUTS = {
  flake: string({ fallback: '.', pattern: FLAKE_REF, patternProblem: FLAKE_REF_PROBLEM, example: '.' }),
  hosts: list({ example: 'web*, @clinic, wave:first' }),
  installables: list({ example: '.#packages.x86_64-linux.default', problem: installableProblem }),
  inventory: string({ example: 'fleet.yaml' }),
  system: string({ pattern: NIX_SYSTEM, patternProblem: 'is not a Nix system such as x86_64-linux', example: 'aarch64-linux' }),
  builders: custom<BuildMachine[], { fallback: BuildMachine[]; example: string }>({ fallback: [], example: 'ssh-ng://builder@arm1.example.org aarch64-linux', convert: parseMachines }),
  plan: boolean({ fallback: false, example: 'true' }),
  shards: integer({ fallback: 1, min: 1, max: 256, example: '4' }),
  runners: custom<RunnerLabels, { fallback: RunnerLabels; example: string }>({ fallback: parseRunners(DEFAULT_RUNNERS), example: 'aarch64-linux: ubuntu-24.04-arm', convert: parseRunners }),
  cache: string({
    example: CACHE_EXAMPLE,
    pattern: /^(s3|https?|file|ssh|ssh-ng):\/\/\S+$/,
    patternProblem: 'must start with s3://, http://, https://, file://, ssh:// or ssh-ng://',
  }),
  'signing-key': secret({ example: '${{ secrets.NIX_SIGNING_KEY }} (a `nix key generate-secret` key, name:base64)' }),
  compression: choice(['zstd', 'xz', 'none'], { fallback: 'zstd', example: 'zstd' }),
  'compression-level': integer({ min: 0, max: 19, example: '6' }),
  concurrency: integer({ fallback: 32, min: 1, max: 512, example: '32' }),
  'role-to-assume': string({
    example: 'arn:aws:iam::123456789012:role/fleet-cache-writer',
    pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    patternProblem: 'is not an IAM role ARN',
  }),
  'aws-region': string({ example: 'eu-west-1', pattern: AWS_REGION, patternProblem: 'is not an AWS region' }),
  audience: string({ fallback: 'sts.amazonaws.com', example: 'sts.amazonaws.com' }),
  'role-duration-seconds': integer({ fallback: 3600, min: 900, max: 43200, example: '3600' }),
  push: choice(['auto', 'true', 'false'], { fallback: 'auto', example: 'auto' }),
  checks: list({ example: 'vm-*' }),
  'skip-upstream': list({ example: 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=' }),
  'nix-eval-cache': boolean({ fallback: false, example: 'true' }),
  'verify-cache': boolean({ fallback: false, example: 'true' }),
  'push-build-deps': boolean({ fallback: false, example: 'true' }),
};

export function readBuildInputs(read?: InputReader) {
  return parseInputs(BUILD_INPUTS, read);
}

export type BuildInputs = ReturnType<typeof readBuildInputs>;
