import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReusableWorkflowJob, WorkflowJob } from '@actions/workflow-parser/model/workflow-template';
import { callInputs, callSecrets } from './call-inputs.js';
import { githubContext, type TriggerEvent } from './events.js';
import { evaluateExpression, type EvaluationScope } from './expressions.js';
import { loadWorkflow, rawJob, workflowCallDefinition, type LoadedWorkflow } from './load.js';
import { expandMatrix } from './matrix.js';
import { excessPermissions, intersect, parsePermissions, PERMISSIVE_DEFAULT, READ_ALL, type Permissions } from './permissions.js';
import type { RunContext } from './run-context.js';
import { runJobLeg } from './run-job.js';
import { evaluateStringMap, evaluateToken, findKey } from './tokens.js';
import { whyNotTriggered } from './triggers.js';
import type { JobConclusion, JobRecord, RunnerSettings, WorkflowRunResult } from './types.js';
import { asString, isTruthy, type Value } from './values.js';

/** What one workflow (the caller, or a called one) sees from whoever started it. */
interface WorkflowScope {
  inputs: Record<string, Value>;
  secrets: Record<string, string>;
  /** Prefix of its jobs' names: `build / ` inside the caller's job `build`. */
  prefix: string;
  /** In a called workflow: the calling job's token permissions, which its jobs may not exceed. */
  ceiling?: Permissions;
  /** A pull request from a fork: every job's writes become reads. */
  readOnly?: boolean;
}

/**
 * The job's own `permissions:`, else the workflow's, else what the calling job (or the repository
 * default) gives. A called workflow's job asking for more than its caller has fails the run.
 */
function jobPermissions(workflow: LoadedWorkflow, jobId: string, scope: WorkflowScope, where: string): Permissions {
  const own = findKey(rawJob(workflow, jobId), 'permissions') ?? findKey(workflow.root, 'permissions');
  const declared = own ? parsePermissions(own, where) : (scope.ceiling ?? PERMISSIVE_DEFAULT);
  if (scope.ceiling) {
    const excess = excessPermissions(jobId, declared, scope.ceiling);
    if (excess.length > 0) throw new Error(`${where}: GitHub would not start this run: ${excess.join(' ')}`);
  }
  return declared;
}

/** What the job's token can really do: a fork's pull request downgrades every write to a read. */
const tokenPermissions = (declared: Permissions, scope: WorkflowScope): Permissions => (scope.readOnly ? intersect(declared, { ...READ_ALL, 'id-token': 'none' }) : declared);

/** GitHub checks every job's permissions, nested ones included, before the run starts. */
function checkPermissions(workflow: LoadedWorkflow, scope: WorkflowScope): void {
  for (const job of workflow.template.jobs) {
    const name = `${scope.prefix}${job.id.value}`;
    const permissions = jobPermissions(workflow, job.id.value, scope, name);
    const called = job.type === 'reusableWorkflowJob' ? workflow.called.get(job.ref.value) : undefined;
    if (called) checkPermissions(called, { ...scope, prefix: `${name} / `, ceiling: permissions });
  }
}

/** Throws as GitHub refuses to start a run whose called workflows ask for more than their callers grant. */
export function checkWorkflowPermissions(workflow: LoadedWorkflow): void {
  checkPermissions(workflow, { inputs: {}, secrets: {}, prefix: '' });
}

/** Jobs in `needs` order (the order they are written, where `needs` allows). */
function inNeedsOrder(jobs: WorkflowJob[], where: string): WorkflowJob[] {
  const ordered: WorkflowJob[] = [];
  const done = new Set<string>();
  let pending = [...jobs];
  while (pending.length > 0) {
    const ready = pending.filter((job) => (job.needs ?? []).every((n) => done.has(n.value)));
    if (ready.length === 0) throw new Error(`${where}: jobs ${pending.map((j) => j.id.value).join(', ')} need jobs that never run (a cycle or a typo)`);
    for (const job of ready) {
      ordered.push(job);
      done.add(job.id.value);
    }
    pending = pending.filter((job) => !ready.includes(job));
  }
  return ordered;
}

function foldLegs(legs: JobConclusion[]): JobConclusion {
  if (legs.length === 0) return { result: 'skipped', outputs: {} };
  const result = legs.some((l) => l.result === 'failure') ? 'failure' : legs.every((l) => l.result === 'skipped') ? 'skipped' : 'success';
  // Legs write the same outputs and GitHub keeps the last finishing leg's; here legs finish in
  // order, and an empty value does not replace one an earlier leg set.
  const outputs: Record<string, string> = {};
  for (const leg of legs) for (const [k, v] of Object.entries(leg.outputs)) if (v !== '' || !(k in outputs)) outputs[k] = v;
  return { result, outputs };
}

async function runJobs(run: RunContext, workflow: LoadedWorkflow, scope: WorkflowScope): Promise<Record<string, JobConclusion>> {
  const conclusions: Record<string, JobConclusion> = {};
  const vars = run.settings.vars ?? {};
  const secrets = { ...scope.secrets, GITHUB_TOKEN: run.settings.github.token };
  for (const job of inNeedsOrder(workflow.template.jobs, workflow.file)) {
    const id = job.id.value;
    const name = `${scope.prefix}${id}`;
    const needIds = (job.needs ?? []).map((n) => n.value);
    const needs: Record<string, Value> = Object.fromEntries(needIds.map((n) => [n, conclusions[n] as unknown as Value]));
    const needResults = needIds.map((n) => conclusions[n]?.result);
    const jobScope: EvaluationScope = {
      contexts: { github: { ...run.github, job: id }, vars, inputs: scope.inputs, needs },
      status: { success: needResults.every((r) => r === 'success'), failure: needResults.some((r) => r === 'failure'), cancelled: false },
      where: `${name} if`,
    };
    if (!isTruthy(evaluateExpression(job.if.expression, jobScope))) {
      run.records.push({ name, result: 'skipped', outputs: {}, steps: [], summary: '', skippedBecause: job.if.expression });
      conclusions[id] = { result: 'skipped', outputs: {} };
      continue;
    }
    const strategy = job.strategy ? evaluateToken(job.strategy, { ...jobScope, where: `${name} strategy` }) : null;
    const strategyObject = strategy && typeof strategy === 'object' && !Array.isArray(strategy) ? strategy : {};
    const combinations = strategyObject.matrix !== undefined ? expandMatrix(strategyObject.matrix, name) : [{}];
    const failFast = strategyObject['fail-fast'] !== false;
    const permissions = jobPermissions(workflow, id, scope, name);
    const legs: JobConclusion[] = [];
    for (const [index, matrix] of combinations.entries()) {
      const legName = Object.keys(matrix).length > 0 ? `${name} (${Object.values(matrix).map(asString).join(', ')})` : name;
      if (failFast && legs.some((l) => l.result === 'failure')) {
        run.records.push({ name: legName, result: 'skipped', outputs: {}, steps: [], summary: '', matrix, skippedBecause: 'fail-fast: another leg failed (GitHub cancels it)' });
        continue;
      }
      const contexts: Record<string, Value> = {
        github: { ...run.github, job: id },
        vars,
        secrets,
        inputs: scope.inputs,
        needs,
        matrix,
        strategy: { 'job-index': index, 'job-total': combinations.length, 'fail-fast': failFast, 'max-parallel': combinations.length },
      };
      legs.push(
        job.type === 'reusableWorkflowJob'
          ? await callWorkflow(run, workflow, job, contexts, scope, legName, permissions)
          : await runLeg(run, workflow, job, contexts, legName, tokenPermissions(permissions, scope)),
      );
    }
    conclusions[id] = foldLegs(legs);
  }
  return conclusions;
}

async function runLeg(run: RunContext, workflow: LoadedWorkflow, job: WorkflowJob & { type: 'job' }, contexts: Record<string, Value>, name: string, permissions: Permissions): Promise<JobConclusion> {
  const record: JobRecord = await runJobLeg(run, {
    name,
    job,
    raw: rawJob(workflow, job.id.value),
    workflowEnv: evaluateStringMap(workflow.template.env, { contexts, where: `${workflow.file} env` }),
    workflowDefaults: workflow.root,
    contexts,
    permissions,
  });
  run.records.push(record);
  return { result: record.result, outputs: record.outputs };
}

/** A job that calls a reusable workflow: its inputs and secrets checked, its jobs run, its outputs mapped. */
async function callWorkflow(
  run: RunContext,
  caller: LoadedWorkflow,
  job: ReusableWorkflowJob,
  contexts: Record<string, Value>,
  scope: WorkflowScope,
  name: string,
  permissions: Permissions,
): Promise<JobConclusion> {
  const called = caller.called.get(job.ref.value);
  if (!called) throw new Error(`${name}: ${job.ref.value} was not loaded`);
  const definition = workflowCallDefinition(called);
  if (!definition) throw new Error(`${name}: ${called.file} has no on.workflow_call: it cannot be called`);
  const where = `${name} (calling ${called.file})`;
  const given = job['input-values'] ? (evaluateToken(job['input-values'], { contexts, where: `${name} with` }) as Record<string, Value>) : {};
  const inputs = callInputs(definition.inputs, given, { contexts: { github: run.github, vars: contexts.vars as Value, inputs: {} }, where }, where);
  const secrets = job['inherit-secrets']
    ? scope.secrets
    : callSecrets(definition.secrets, evaluateStringMap(job['secret-values'], { contexts, where: `${name} secrets` }), where);
  const inner = await runJobs(run, called, { inputs, secrets, prefix: `${name} / `, ceiling: permissions, ...(scope.readOnly ? { readOnly: true } : {}) });
  const outputs: Record<string, string> = {};
  for (const pair of definition.outputs ?? []) {
    const value = findKey(pair.value, 'value');
    if (value) outputs[pair.key.toString()] = asString(evaluateToken(value, { contexts: { github: run.github, vars: contexts.vars as Value, inputs, jobs: inner as unknown as Value }, where: `${where} output ${pair.key.toString()}` }));
  }
  const results = Object.values(inner).map((c) => c.result);
  return { result: results.includes('failure') ? 'failure' : 'success', outputs };
}

function isForkPullRequest(payload: Record<string, Value>): boolean {
  const pull = payload.pull_request as { head?: { repo?: { fork?: boolean } } } | undefined;
  return pull?.head?.repo?.fork === true;
}

export interface RunWorkflowOptions {
  /** Keep the jobs' workspaces (under the returned run's folder) instead of removing them. */
  keepWorkspaces?: boolean;
  /** Where `./.github/workflows/X.yml` is looked up (default: this checkout). */
  localRoot?: string;
}

/**
 * Runs a caller workflow for one event as GitHub would: checks that the event triggers it, then its
 * jobs in `needs` order with their `if:`, matrix legs one after another, reusable workflows inline.
 */
export async function runWorkflow(file: string, event: TriggerEvent, settings: RunnerSettings, options: RunWorkflowOptions = {}): Promise<WorkflowRunResult> {
  const workflow = await loadWorkflow(file, options.localRoot);
  const why = whyNotTriggered(workflow.template, event);
  if (why) throw new Error(`${workflow.file} would not run for this ${event.name} (${event.ref}): ${why}`);
  const dir = await mkdtemp(join(tmpdir(), 'fleet-journey-'));
  const eventPath = join(dir, 'event.json');
  await writeFile(eventPath, JSON.stringify(event.payload));
  const run: RunContext = {
    settings,
    event,
    eventPath,
    dir,
    artifacts: new Map(),
    github: githubContext(event, { repository: settings.repository, ...settings.github, workflow: workflow.file, runId: String(Date.now()) }),
    records: [],
  };
  try {
    const inputs = event.name === 'workflow_dispatch' ? (event.inputs ?? {}) : {};
    // A pull request from a fork gets no secrets and a read-only token.
    const fromFork = event.name === 'pull_request' && isForkPullRequest(event.payload);
    const scope: WorkflowScope = { inputs, secrets: fromFork ? {} : (settings.secrets ?? {}), prefix: '', ...(fromFork ? { readOnly: true } : {}) };
    checkPermissions(workflow, scope);
    const conclusions = await runJobs(run, workflow, scope);
    const records = run.records;
    return {
      jobs: records,
      conclusions,
      artifacts: run.artifacts,
      result: Object.values(conclusions).some((c) => c.result === 'failure') ? 'failure' : 'success',
      job(name: string): JobRecord {
        const found = records.find((r) => r.name === name);
        if (!found) throw new Error(`no job ${name} in this run (jobs: ${records.map((r) => r.name).join(', ')})`);
        return found;
      },
    };
  } finally {
    if (!options.keepWorkspaces) await rm(dir, { recursive: true, force: true });
  }
}
