import { createHash } from 'node:crypto';
import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { Step } from '@actions/workflow-parser/model/workflow-template';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import { workflowCommands } from '../../../src/local-runner/workflow-commands.js';
import { readActionManifest, repoRoot, runAction } from '../harness.js';
import { evaluateExpression, type EvaluationScope } from './expressions.js';
import { githubEnvironment } from './events.js';
import type { JobState } from './job-state.js';
import { OUR_REPOSITORY } from './load.js';
import { runShellStep } from './run-shell.js';
import { standInFor, StepFailure } from './stand-ins.js';
import { evaluateStringMap, evaluateToken, findKey } from './tokens.js';
import type { Outcome } from './types.js';
import { asString, isTruthy, type Value } from './values.js';

/** `./action-deploy` or `fleet-nix/fleet/action-deploy@v1` → `action-deploy`. */
export function ourAction(uses: string): string | undefined {
  const match = new RegExp(`^(?:${OUR_REPOSITORY}/|\\./)(action-[a-z-]+)(?:@[\\w./-]+)?$`).exec(uses);
  return match && existsSync(join(repoRoot, match[1] as string, 'action.yml')) ? match[1] : undefined;
}

/** GitHub's hashFiles(): SHA-256 over the SHA-256 of each matching file, '' when nothing matches. */
function hashFilesIn(workspace: string): (patterns: string[]) => string {
  return (patterns) => {
    const files = [...new Set(patterns.flatMap((p) => globSync(p, { cwd: workspace })))].filter((f) => statSync(join(workspace, f)).isFile()).sort();
    if (files.length === 0) return '';
    const all = createHash('sha256');
    for (const file of files) all.update(createHash('sha256').update(readFileSync(join(workspace, file))).digest());
    return all.digest('hex');
  };
}

export function stepScope(job: JobState, where: string, env: Record<string, string> = job.env): EvaluationScope {
  const steps: Record<string, Value> = {};
  for (const [id, s] of Object.entries(job.steps)) steps[id] = { outputs: s.outputs, outcome: s.outcome, conclusion: s.conclusion };
  return {
    contexts: { ...job.contexts, env, steps },
    status: { success: !job.failed, failure: job.failed, cancelled: false },
    hashFiles: hashFilesIn(job.workspace),
    where,
  };
}

/** `::error::`, `::warning::` and `::notice::` lines a `run:` step printed, as the runner collects them. */
const annotationsIn = (stdout: string): { level: string; message: string }[] =>
  workflowCommands(stdout).filter((c) => ['error', 'warning', 'notice'].includes(c.name)).map((c) => ({ level: c.name, message: c.data }));

const optionalString = (token: TemplateToken | undefined, scope: EvaluationScope): string => (token ? asString(evaluateToken(token, scope)) : '');

interface Ran {
  exitCode: number;
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  addedPath: string[];
  stdout: string;
  stderr: string;
  summary: string;
  annotations: { level: string; message: string }[];
}

/** Runs one step of a job and records it; throws when the step could not run at all. */
export async function runStep(job: JobState, step: Step, raw: MappingToken): Promise<void> {
  const label = step.name ? asString(evaluateToken(step.name, stepScope(job, `${job.where}, step ${step.id} name`))) : step.id;
  const where = `${job.where}, step ${label}`;
  const uses = 'uses' in step ? step.uses.value : undefined;
  let inputs: Record<string, string> = {};
  const record = (outcome: Outcome, conclusion: Outcome, ran?: Ran): void => {
    job.steps[step.id] = { outputs: ran?.outputs ?? {}, outcome, conclusion };
    job.records.push({
      id: step.id,
      name: label,
      ...(uses ? { uses } : {}),
      outcome,
      conclusion,
      inputs,
      outputs: ran?.outputs ?? {},
      stdout: ran?.stdout ?? '',
      stderr: ran?.stderr ?? '',
      summary: ran?.summary ?? '',
      annotations: ran?.annotations ?? [],
    });
  };

  const condition = 'if' in step && step.if ? step.if.expression : 'success()';
  if (!isTruthy(evaluateExpression(condition, stepScope(job, `${where} if`)))) {
    record('skipped', 'skipped');
    return;
  }
  const stepEnv = { ...job.env, ...evaluateStringMap('env' in step ? step.env : undefined, stepScope(job, `${where} env`)) };
  const scope = stepScope(job, where, stepEnv);
  const env: Record<string, string> = {
    ...job.settings.machineEnv,
    ...githubEnvironment(job.contexts.github as Record<string, Value>),
    GITHUB_WORKSPACE: job.workspace,
    GITHUB_EVENT_PATH: job.eventPath,
    RUNNER_TEMP: job.tempDir,
    ...job.runnerEnv,
    ...stepEnv,
  };
  if (job.path.length > 0) env.PATH = [...job.path, env.PATH ?? process.env.PATH ?? '/usr/bin:/bin'].join(':');
  const stepMinutes = optionalString(findKey(raw, 'timeout-minutes'), scope);
  const timeoutMs = stepMinutes ? Number(stepMinutes) * 60_000 : (job.settings.stepTimeoutMs ?? 20 * 60_000);
  if (!(timeoutMs > 0)) throw new Error(`${where}: timeout-minutes must be a positive number, got ${stepMinutes}`);

  let ran: Ran;
  if ('run' in step) {
    const shell = optionalString(findKey(raw, 'shell'), scope) || job.runDefaults.shell || 'bash';
    const workingDirectory = optionalString(findKey(raw, 'working-directory'), scope) || job.runDefaults['working-directory'] || '';
    const script = asString(evaluateToken(step.run, { ...scope, where: `${where} run` }));
    const result = await runShellStep(script, { shell, cwd: join(job.workspace, workingDirectory), env, tempDir: job.tempDir, timeoutMs });
    ran = { ...result, annotations: annotationsIn(result.stdout) };
  } else if (uses) {
    inputs = evaluateStringMap(findKey(raw, 'with'), { ...scope, where: `${where} with` });
    ran = await runUses(job, uses, inputs, env, where, timeoutMs);
  } else {
    throw new Error(`${where}: neither run: nor uses: (wait/parallel steps are not supported by the journey runner)`);
  }
  const outcome: Outcome = ran.exitCode === 0 ? 'success' : 'failure';
  const continueOnError = 'continue-on-error' in step && step['continue-on-error'] !== undefined
    ? typeof step['continue-on-error'] === 'boolean' ? step['continue-on-error'] : isTruthy(evaluateToken(step['continue-on-error'], scope))
    : false;
  const conclusion: Outcome = outcome === 'failure' && continueOnError ? 'success' : outcome;
  Object.assign(job.env, ran.exportedEnv);
  job.path.unshift(...ran.addedPath.reverse());
  if (conclusion === 'failure') job.failed = true;
  record(outcome, conclusion, ran);
}

async function runUses(job: JobState, uses: string, inputs: Record<string, string>, env: Record<string, string>, where: string, timeoutMs: number): Promise<Ran> {
  const action = ourAction(uses);
  if (action) {
    const manifest = await readActionManifest(action);
    const declared = manifest.inputs ?? {};
    const undeclared = Object.keys(inputs).filter((name) => !declared[name]);
    if (undeclared.length > 0) throw new Error(`${where}: ${action} has no input ${undeclared.map((n) => `"${n}"`).join(', ')} (it declares: ${Object.keys(declared).join(', ')})`);
    const missing = Object.entries(declared).filter(([name, spec]) => spec.required && spec.default === undefined && !(name in inputs)).map(([name]) => name);
    if (missing.length > 0) throw new Error(`${where}: ${action} needs input ${missing.map((n) => `"${n}"`).join(', ')}, which the step does not pass`);
    const result = await runAction(action, {
      inputs,
      env,
      cwd: job.workspace,
      event: job.event.payload,
      githubToken: job.settings.github.token,
      timeoutMs,
    });
    const post = result.post;
    return {
      exitCode: result.exitCode !== 0 ? result.exitCode : (post?.exitCode ?? 0),
      outputs: result.outputs,
      exportedEnv: { ...result.exportedEnv, ...post?.exportedEnv },
      addedPath: [],
      stdout: result.stdout + (post ? `\n--- post ---\n${post.stdout}` : ''),
      stderr: result.stderr + (post ? post.stderr : ''),
      summary: result.summary + (post?.summary ?? ''),
      annotations: [...result.annotations, ...(post?.annotations ?? [])],
    };
  }
  const standIn = standInFor(uses);
  if (!standIn) throw new Error(`${where}: cannot run uses: ${uses}: it is neither one of ${OUR_REPOSITORY}'s actions nor a documented stand-in (test/support/workflows/stand-ins.ts)`);
  const unknown = Object.keys(inputs).filter((name) => !standIn.inputs.includes(name));
  if (unknown.length > 0) throw new Error(`${where}: the ${uses.split('@')[0]} stand-in has no input ${unknown.join(', ')} (it knows: ${standIn.inputs.join(', ')})`);
  try {
    const result = await standIn.run({ workspace: job.workspace, inputs, sha: job.event.sha, settings: job.settings, artifacts: job.artifacts });
    return { exitCode: 0, outputs: result.outputs, exportedEnv: result.exportedEnv, addedPath: [], stdout: result.log, stderr: '', summary: '', annotations: [] };
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    return { exitCode: 1, outputs: {}, exportedEnv: {}, addedPath: [], stdout: '', stderr: error.message, summary: '', annotations: [{ level: 'error', message: error.message }] };
  }
}
