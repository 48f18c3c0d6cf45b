import { branch, choice, list, parseInputs, secret, string, type InputReader } from '../../src/runner/index.js';

/** Input names reach `nix flake update` as operands; a leading "-" would be an option. */
function flakeInputProblem(name: string): string | undefined {
  return /^[A-Za-z_][\w'-]*(\/[A-Za-z_][\w'-]*)*$/.test(name) ? undefined : 'is not a flake input name (letters, digits, "_", "-", "/" between nested inputs)';
}

/** A GitHub user (`octocat`) or team (`org/team`), as the review-request API takes them. */
function reviewerProblem(name: string): string | undefined {
  return /^@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\/[A-Za-z0-9._-]+)?$/.test(name) ? undefined : 'is not a GitHub user name or an org/team';
}

export const BUMP_INPUTS = {
  path: list({ fallback: ['.'], example: '.' }),
  inputs: list({ example: 'nixpkgs, home-manager', problem: flakeInputProblem }),
  group: choice(['all', 'per-input'], { fallback: 'all', example: 'all' }),
  branch: branch({ fallback: 'flake-bump', example: 'flake-bump' }),
  base: branch({ example: 'main' }),
  title: string({ fallback: 'flake.lock: update', example: 'flake.lock: update' }),
  labels: list({ example: 'dependencies' }),
  reviewers: list({ example: 'octocat, acme/nix-team', problem: reviewerProblem }),
  'auto-merge': choice(['off', 'merge', 'squash', 'rebase'], { fallback: 'off', example: 'squash' }),
  token: secret({ required: true, example: '${{ github.token }}' }),
  'commit-method': choice(['api', 'git'], { fallback: 'api', example: 'api' }),
  checks: choice(['none', 'eval', 'build', 'flake-check'], { fallback: 'eval', example: 'eval' }),
  'diff-hosts': list({ example: 'web1, db1' }),
  'nix-options': list({ example: 'max-jobs 4' }),
};

export function readBumpInputs(read?: InputReader) {
  return parseInputs(BUMP_INPUTS, read);
}

export type BumpInputs = ReturnType<typeof readBumpInputs>;
