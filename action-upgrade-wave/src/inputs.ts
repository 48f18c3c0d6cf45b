import { SOAK_MAX } from '../../src/fleet/schema.js';
import { AWS_REGION } from '../../src/aws/validate.js';
import { isAbsolute, normalize, sep } from 'node:path';
import { amount, boolean, branch, choice, custom, duration, json, list, parseInputs, secret, string, type InputReader } from '../../src/runner/index.js';
import { FLAKE_REF, FLAKE_REF_PROBLEM } from '../../src/runner/input-forms.js';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SYSTEMS_EXAMPLE = '${{ needs.build.outputs.store-paths }}';
/** Longer than any soak: a host silent for a season is not coming back by itself. */
export const OFFLINE_AFTER_MAX = '90d';

/**
 * A file the action writes, relative to the workspace and inside it (a later step uploads it). The
 * symbolic links on the way are checked when it is written.
 */
export function workspaceFile(raw: string): string {
  if (raw.includes('\0')) throw new Error('has a NUL character');
  if (raw.startsWith('-')) throw new Error(`${JSON.stringify(raw)} starts with "-"`);
  if (isAbsolute(raw)) throw new Error(`${JSON.stringify(raw)} is absolute; give a path relative to the workspace`);
  const path = normalize(raw);
  if (path === '.' || path.endsWith(sep) || path.endsWith(`${sep}.`) || path.endsWith(`${sep}..`)) throw new Error(`${JSON.stringify(raw)} names a folder, not a file`);
  if (path === '..' || path.startsWith(`..${sep}`)) throw new Error(`${JSON.stringify(raw)} leads outside the workspace`);
  return path;
}

export const WAVE_INPUTS = {
  inventory: string({ fallback: 'fleet.yaml', example: 'fleet.yaml' }),
  mode: choice(['status', 'promote', 'advance'], { fallback: 'status', example: 'promote' }),
  'source-branch': branch({ fallback: 'staging', example: 'staging' }),
  'target-branch': branch({ fallback: 'main', example: 'main' }),
  'status-source': choice(['cache', 'ssh', 'deployments'], { fallback: 'cache', example: 'cache' }),
  expected: json<Record<string, string>, { example: string }>({ example: SYSTEMS_EXAMPLE }),
  flake: string({ fallback: '.', pattern: FLAKE_REF, patternProblem: FLAKE_REF_PROBLEM, example: '.' }),
  baseline: json<Record<string, string>, { example: string }>({ example: '${{ needs.build-main.outputs.store-paths }}' }),
  'next-expected': json<Record<string, string>, { example: string }>({ example: SYSTEMS_EXAMPLE }),
  hosts: list({ example: 'env:staging' }),
  cache: string({ pattern: /^(s3|https?|file):\/\/\S+$/, patternProblem: 'must start with s3://, http://, https:// or file://', example: 's3://my-nix-cache?region=eu-west-1' }),
  'role-to-assume': string({ pattern: ROLE_ARN, patternProblem: 'is not an IAM role ARN', example: 'arn:aws:iam::123456789012:role/fleet-status-reader' }),
  'aws-region': string({ pattern: AWS_REGION, patternProblem: 'is not an AWS region', example: 'eu-west-1' }),
  audience: string({ fallback: 'sts.amazonaws.com', example: 'sts.amazonaws.com' }),
  soak: duration({ max: SOAK_MAX, example: '24h' }),
  quorum: amount({ example: '80%' }),
  'offline-after': duration({ fallback: 7 * 86_400_000, min: '1m', max: OFFLINE_AFTER_MAX, example: '7d' }),
  'hold-label': string({ fallback: 'fleet-hold', example: 'fleet-hold' }),
  'auto-merge': choice(['off', 'merge', 'squash', 'rebase'], { fallback: 'off', example: 'merge' }),
  abort: boolean({ fallback: false, example: 'true' }),
  token: secret({ example: '${{ github.token }}' }),
  html: custom({ convert: workspaceFile, example: 'fleet-status.html' }),
  history: boolean({ fallback: false, example: 'true' }),
};

export function readWaveInputs(read?: InputReader) {
  return parseInputs(WAVE_INPUTS, read);
}

export type WaveInputs = ReturnType<typeof readWaveInputs>;
