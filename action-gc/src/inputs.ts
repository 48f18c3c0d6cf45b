import { AWS_REGION } from '../../src/aws/validate.js';
import { boolean, duration, integer, parseInputs, string, type InputReader } from '../../src/runner/index.js';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export const GC_INPUTS = {
  cache: string({ pattern: /^(s3|https?|file):\/\/\S+$/, patternProblem: 'must start with s3://, http://, https:// or file://', example: 's3://my-nix-cache?region=eu-west-1' }),
  inventory: string({ example: 'fleet.yaml' }),
  'keep-builds': integer({ fallback: 10, min: 1, max: 1000, example: '10' }),
  'keep-generations': integer({ fallback: 3, min: 0, max: 10, example: '3' }),
  'min-age': duration({ fallback: 3 * 86_400_000, min: '1s', max: '365d', example: '3d' }),
  'dry-run': boolean({ fallback: false, example: 'true' }),
  'role-to-assume': string({ pattern: ROLE_ARN, patternProblem: 'is not an IAM role ARN', example: 'arn:aws:iam::123456789012:role/nix-cache-gc' }),
  'aws-region': string({ pattern: AWS_REGION, patternProblem: 'is not an AWS region', example: 'eu-west-1' }),
  audience: string({ fallback: 'sts.amazonaws.com', example: 'sts.amazonaws.com' }),
};

export function readGcInputs(read?: InputReader) {
  return parseInputs(GC_INPUTS, read);
}

export type GcInputs = ReturnType<typeof readGcInputs>;
