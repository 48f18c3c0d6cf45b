import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../support/harness.js';

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
const load = <T>(file: string): T => parseYaml(readFileSync(join(repoRoot, file), 'utf8')) as T;

/**
 * Inputs of an action that its reusable workflow does not pass on, each with the reason. Anything
 * else an action takes must reach it through the workflow, or a caller cannot use it at all.
 */
const NOT_EXPOSED: Record<string, { action: string; inputs: Record<string, string> }> = {
  'deploy.yml': { action: 'action-deploy', inputs: { 'github-token': 'the job token, with the job\'s deployments: write' } },
  'gc.yml': { action: 'action-gc', inputs: {} },
  'upgrade-wave.yml': { action: 'action-upgrade-wave', inputs: {} },
  'build.yml': {
    action: 'action-build',
    inputs: {
      checks: 'VM tests are vm-test.yml',
      installables: 'not yet exposed',
      'compression-level': 'not yet exposed',
      concurrency: 'not yet exposed',
      'nix-eval-cache': 'not yet exposed',
      'role-duration-seconds': 'not yet exposed',
      'skip-upstream': 'not yet exposed',
    },
  },
  'vm-test.yml': {
    action: 'action-build',
    inputs: {
      inventory: 'builds no hosts (hosts: none)',
      builders: 'VM tests run on the runner itself (they need its KVM)',
      installables: 'builds checks only',
      plan: 'one job runs the VM tests: nothing to plan',
      shards: 'one job runs the VM tests: nothing to plan',
      runners: 'its job runs on the runs-on input, a KVM runner',
      compression: 'not yet exposed',
      'compression-level': 'not yet exposed',
      concurrency: 'not yet exposed',
      push: 'not yet exposed (auto)',
      'verify-cache': 'not yet exposed',
      'push-build-deps': 'not yet exposed',
      'nix-eval-cache': 'not yet exposed',
      'role-duration-seconds': 'not yet exposed',
      'skip-upstream': 'not yet exposed',
    },
  },
};

describe.each(Object.entries(NOT_EXPOSED))('%s', (workflowFile, { action, inputs: omitted }) => {
  it(`passes every input of ${action} it does not list as deliberately left out`, () => {
    const workflow = load<{ jobs: Record<string, { steps?: Step[] }> }>(join('.github', 'workflows', workflowFile));
    const declared = Object.keys(load<{ inputs: Record<string, unknown> }>(join(action, 'action.yml')).inputs);
    const passed = new Set(Object.values(workflow.jobs).flatMap((job) => (job.steps ?? []).filter((s) => s.uses?.includes(`/${action}@`)).flatMap((s) => Object.keys(s.with ?? {}))));
    expect(declared.filter((name) => !passed.has(name)).sort()).toEqual(Object.keys(omitted).sort());
  });
});
