import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../support/harness.js';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  steps?: Step[];
  permissions?: unknown;
}
interface Workflow {
  on?: { workflow_call?: { inputs?: Record<string, { required?: boolean; default?: unknown }>; secrets?: Record<string, { required?: boolean }> } };
  permissions?: unknown;
  jobs: Record<string, Job>;
}
interface ActionYml {
  inputs?: Record<string, { required?: boolean; default?: string }>;
}

const OUR_ACTION = /^(?:fleet-nix\/fleet\/|\.\/)(action-[a-z-]+)(?:@.+)?$/;
const OUR_WORKFLOW = /^(?:fleet-nix\/fleet\/|\.\/)\.github\/workflows\/([\w-]+\.ya?ml)(?:@.+)?$/;

const files = [join(repoRoot, '.github', 'workflows'), join(repoRoot, 'examples', 'workflows')].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f)),
);
const load = <T>(file: string): T => parseYaml(readFileSync(file, 'utf8')) as T;
const actionInputs = (action: string) => load<ActionYml>(join(repoRoot, action, 'action.yml')).inputs ?? {};
const reusable = (file: string) => load<Workflow>(join(repoRoot, '.github', 'workflows', file)).on?.workflow_call;

describe.each(files.map((f) => [relative(repoRoot, f), f]))('%s', (_name, file) => {
  const workflow = load<Workflow>(file);
  const jobs = Object.entries(workflow.jobs);

  it('passes only inputs our actions have, and every required one', () => {
    const problems: string[] = [];
    for (const [jobName, job] of jobs) {
      for (const step of job.steps ?? []) {
        const action = step.uses && OUR_ACTION.exec(step.uses)?.[1];
        if (!action) continue;
        const inputs = actionInputs(action);
        for (const key of Object.keys(step.with ?? {})) if (!inputs[key]) problems.push(`${jobName}: ${action} has no input "${key}"`);
        for (const [name, spec] of Object.entries(inputs)) {
          if (spec.required && !(name in (step.with ?? {}))) problems.push(`${jobName}: ${action} needs input "${name}"`);
        }
      }
      const called = job.uses && OUR_WORKFLOW.exec(job.uses)?.[1];
      if (called) {
        const contract = reusable(called);
        if (!contract) {
          problems.push(`${jobName}: ${called} is not a reusable workflow`);
          continue;
        }
        for (const key of Object.keys(job.with ?? {})) if (!contract.inputs?.[key]) problems.push(`${jobName}: ${called} has no input "${key}"`);
        for (const [name, spec] of Object.entries(contract.inputs ?? {})) {
          if (spec.required && !(name in (job.with ?? {}))) problems.push(`${jobName}: ${called} needs input "${name}"`);
        }
        const secrets = job.secrets === 'inherit' ? {} : (job.secrets ?? {});
        for (const key of Object.keys(secrets)) if (!contract.secrets?.[key]) problems.push(`${jobName}: ${called} has no secret "${key}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('never interpolates ${{ }} into a run: script (values go through env:)', () => {
    const offenders = jobs.flatMap(([jobName, job]) => (job.steps ?? []).filter((s) => s.run?.includes('${{')).map((s) => `${jobName}: ${s.run?.split('\n')[0]}`));
    expect(offenders).toEqual([]);
  });

  it('pins every third-party action to a commit SHA', () => {
    const unpinned = jobs.flatMap(([, job]) =>
      (job.steps ?? [])
        .map((s) => s.uses)
        .filter((uses): uses is string => Boolean(uses) && !OUR_ACTION.test(uses as string) && !(uses as string).startsWith('./'))
        .filter((uses) => !/@[0-9a-f]{40}$/.test(uses)),
    );
    expect(unpinned).toEqual([]);
  });

  it('gives every job explicit permissions', () => {
    const open = jobs.filter(([, job]) => job.permissions === undefined).map(([name]) => name);
    expect(workflow.permissions !== undefined || open.length === 0).toBe(true);
    expect(open).toEqual([]);
  });
});

describe('the contract check itself', () => {
  it('would catch an unknown input', () => {
    const inputs = actionInputs('action-build');
    expect(inputs['cache']).toBeDefined();
    expect(inputs['cahce']).toBeUndefined();
  });
});
