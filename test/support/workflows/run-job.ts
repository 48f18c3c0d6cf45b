import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { isMapping, isSequence } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { Job } from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import { environmentRefusal } from './environment-gate.js';
import type { EvaluationScope } from './expressions.js';
import type { JobState } from './job-state.js';
import type { Permissions } from './permissions.js';
import { stepScope, runStep } from './run-step.js';
import type { RunContext } from './run-context.js';
import { evaluateStringMap, evaluateToken, findKey } from './tokens.js';
import type { JobRecord, RemoteLeg } from './types.js';
import { asString, type Value } from './values.js';

export interface LegSpec {
  name: string;
  job: Job;
  raw: MappingToken;
  /** The workflow's own `env:` and `defaults:`. */
  workflowEnv: Record<string, string>;
  workflowDefaults: TemplateToken | undefined;
  /** github, vars, secrets, inputs, needs, matrix, strategy for this leg. */
  contexts: Record<string, Value>;
  permissions: Permissions;
}

/** The environment a job names (`environment: production` or `{ name, url }`), evaluated. */
export function environmentName(token: TemplateToken | undefined, scope: EvaluationScope): string | undefined {
  if (!token) return undefined;
  const value = evaluateToken(token, scope);
  if (value && typeof value === 'object' && !Array.isArray(value)) return asString(value.name ?? null) || undefined;
  return asString(value) || undefined;
}

function runDefaults(token: TemplateToken | undefined): JobState['runDefaults'] {
  const run = findKey(findKey(token, 'defaults'), 'run');
  const literal = (key: string): string | undefined => {
    const value = findKey(run, key);
    return value ? asString(evaluateToken(value, { contexts: {}, where: `defaults.run.${key}` })) : undefined;
  };
  const shell = literal('shell');
  const workingDirectory = literal('working-directory');
  return { ...(shell ? { shell } : {}), ...(workingDirectory ? { 'working-directory': workingDirectory } : {}) };
}

/** The labels GitHub-hosted x86_64 Ubuntu runners answer to: what this machine stands in for by default. */
export const LOCAL_RUNNER_LABELS = ['ubuntu-latest', 'ubuntu-24.04', 'ubuntu-22.04'];

/** `runs-on: label`, `[labels]` or `{ group, labels }`, evaluated. */
export function runnerLabels(token: TemplateToken | undefined, scope: EvaluationScope): string[] {
  if (!token) throw new Error(`${scope.where}: a job needs runs-on`);
  const value = evaluateToken(token, scope);
  const labels = value && typeof value === 'object' && !Array.isArray(value) ? (value.labels ?? []) : value;
  return (Array.isArray(labels) ? labels : [labels]).map(asString).filter(Boolean);
}

/** The job goes to the stand-in for another kind of runner: its outcome and artifacts, as that runner's. */
async function runRemotely(run: RunContext, leg: LegSpec, runsOn: string[], environment: string | undefined): Promise<JobRecord> {
  const remote = run.settings.remoteRunner;
  const local = run.settings.localRunners ?? LOCAL_RUNNER_LABELS;
  if (!remote) throw new Error(`${leg.name}: no runner here has the labels ${runsOn.join(', ')} (local: ${local.join(', ')}), and no remoteRunner stands in for it`);
  const request: RemoteLeg = {
    name: leg.name,
    runsOn,
    inputs: (leg.contexts.inputs ?? {}) as Record<string, Value>,
    matrix: (leg.contexts.matrix ?? {}) as Record<string, Value>,
    strategy: (leg.contexts.strategy ?? {}) as Record<string, Value>,
  };
  const outcome = await remote(request);
  for (const [name, files] of Object.entries(outcome.artifacts ?? {})) {
    if (run.artifacts.has(name)) throw new Error(`${leg.name}: an artifact named ${name} already exists in this run`);
    run.artifacts.set(name, new Map(Object.entries(files).map(([file, content]) => [file, Buffer.from(content)])));
  }
  return {
    name: leg.name,
    result: outcome.result,
    outputs: outcome.outputs ?? {},
    steps: [],
    summary: outcome.summary ?? '',
    ...(environment ? { environment } : {}),
    permissions: leg.permissions,
    ...(Object.keys(request.matrix).length > 0 ? { matrix: request.matrix } : {}),
    runsOn,
    ranRemotely: true,
  };
}

/** Runs one job (one matrix leg) on a fresh workspace: its steps in order, then its outputs. */
export async function runJobLeg(run: RunContext, leg: LegSpec): Promise<JobRecord> {
  const jobScope: EvaluationScope = { contexts: leg.contexts, where: leg.name };
  const runsOn = runnerLabels(leg.job['runs-on'], { ...jobScope, where: `${leg.name} runs-on` });
  const environment = environmentName(leg.job.environment, { ...jobScope, where: `${leg.name} environment` });
  const environmentSettings = environment ? run.settings.environments?.[environment] : undefined;
  const contexts: Record<string, Value> = {
    ...leg.contexts,
    vars: { ...(leg.contexts.vars as Record<string, Value>), ...environmentSettings?.vars },
    secrets: { ...(leg.contexts.secrets as Record<string, Value>), ...environmentSettings?.secrets },
    job: { status: 'success' },
  };
  const refusal = environment ? await environmentRefusal(environment, environmentSettings, run.event, leg.name) : undefined;
  if (environment && refusal) return { name: leg.name, result: 'failure', outputs: {}, steps: [], summary: '', environment, permissions: leg.permissions, refusedBecause: refusal };
  const local = run.settings.localRunners ?? LOCAL_RUNNER_LABELS;
  if (!runsOn.every((label) => local.includes(label))) return runRemotely(run, leg, runsOn, environment);
  await run.settings.onJobStart?.({ name: leg.name, permissions: leg.permissions, ...(environment ? { environment } : {}) });
  const workspace = await mkdtemp(join(run.dir, 'workspace-'));
  const tempDir = await mkdtemp(join(run.dir, 'temp-'));
  contexts.runner = { os: 'Linux', arch: 'X64', name: 'journey-runner', temp: tempDir, tool_cache: join(run.dir, 'tool-cache') };
  contexts.github = { ...(contexts.github as Record<string, Value>), workspace };
  const state: JobState = {
    where: leg.name,
    workspace,
    tempDir,
    settings: run.settings,
    artifacts: run.artifacts,
    event: run.event,
    eventPath: run.eventPath,
    contexts,
    env: { ...leg.workflowEnv },
    runnerEnv: leg.permissions['id-token'] === 'write' ? { ...run.settings.oidcEnv } : {},
    path: [],
    runDefaults: { ...runDefaults(leg.workflowDefaults), ...runDefaults(leg.raw) },
    steps: {},
    failed: false,
    records: [],
  };
  Object.assign(state.env, evaluateStringMap(leg.job.env, stepScope(state, `${leg.name} env`)));
  const rawSteps = findKey(leg.raw, 'steps');
  const steps = leg.job.steps;
  if (!rawSteps || !isSequence(rawSteps) || rawSteps.count !== steps.length) throw new Error(`${leg.name}: its steps could not be matched with the parsed ones`);
  for (let i = 0; i < steps.length; i++) {
    const raw = rawSteps.get(i);
    if (!isMapping(raw)) throw new Error(`${leg.name}: step ${i + 1} is not a mapping`);
    await runStep(state, steps[i] as (typeof steps)[number], raw);
    (state.contexts.job as Record<string, Value>).status = state.failed ? 'failure' : 'success';
  }
  const outputs = evaluateStringMap(leg.job.outputs, stepScope(state, `${leg.name} outputs`));
  return {
    name: leg.name,
    result: state.failed ? 'failure' : 'success',
    outputs,
    steps: state.records,
    summary: state.records.map((r) => r.summary).join(''),
    ...(environment ? { environment } : {}),
    permissions: leg.permissions,
    ...(leg.contexts.matrix && Object.keys(leg.contexts.matrix as object).length > 0 ? { matrix: leg.contexts.matrix as Record<string, Value> } : {}),
    runsOn,
  };
}
