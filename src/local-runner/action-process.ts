import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { spawnProcess } from '../util/exec.js';
import { workflowCommands, type WorkflowCommand } from './workflow-commands.js';

/** What the runner reads from an action.yml. */
export interface ActionManifest {
  inputs?: Record<string, { default?: string; required?: boolean; description?: string }>;
  outputs?: Record<string, { description?: string }>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
}

export async function readActionManifest(actionDir: string): Promise<ActionManifest> {
  return parseYaml(await readFile(join(actionDir, 'action.yml'), 'utf8')) as ActionManifest;
}

/** `with: { signing-key: x }` becomes INPUT_SIGNING-KEY, as the runner does (hyphens kept). */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * The INPUT_* variables the runner would set: given inputs, else action.yml defaults
 * (`${{ github.token }}` is the only expression a default may hold here).
 */
export function inputEnvironment(manifest: ActionManifest, given: Record<string, string>, githubToken = ''): Record<string, string> {
  const unknown = Object.keys(given).filter((name) => !manifest.inputs?.[name]);
  if (unknown.length > 0) throw new Error(`no such input: ${unknown.join(', ')} (inputs: ${Object.keys(manifest.inputs ?? {}).join(', ')})`);
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(manifest.inputs ?? {})) {
    const value = given[name] ?? (spec.default !== undefined ? evaluateDefault(spec.default, githubToken) : undefined);
    if (value !== undefined) env[inputVariable(name)] = value;
  }
  return env;
}

function evaluateDefault(value: string, githubToken: string): string {
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    if (expression === 'github.token') return githubToken;
    throw new Error(`cannot evaluate the default expression \${{ ${expression} }}`);
  });
}

/** Parses the `name<<DELIMITER` blocks (and plain `name=value` lines) of a runner file command. */
export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] as string);
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      values[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return values;
}

export interface StepResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  /** What the step appended to GITHUB_ENV (must never hold credentials). */
  exportedEnv: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** The workflow commands the runner would obey in the step's stdout and stderr, in order. */
  commands: WorkflowCommand[];
}

export interface StepOptions {
  env: Record<string, string>;
  cwd: string;
  /** A folder for the file commands; the caller removes it. */
  workDir: string;
  step: 'main' | 'post';
  timeoutMs?: number;
  /** Receives stdout as it comes (the CLI prints it live). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

/** Runs one step of a node action with the runner's file commands, as the runner does. */
export async function runActionStep(script: string, options: StepOptions): Promise<StepResult> {
  const files = {
    output: join(options.workDir, `${options.step}-output`),
    env: join(options.workDir, `${options.step}-env`),
    state: join(options.workDir, `${options.step}-state`),
    summary: join(options.workDir, `${options.step}-summary.md`),
  };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
  const env = {
    ...options.env,
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_PATH: join(options.workDir, `${options.step}-path`),
  };
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawnProcess(process.execPath, [script], { env, cwd: options.cwd, actionStep: true });
    // The runner gives a step no stdin.
    child.stdin.end();
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out.push(s);
      options.onStdout?.(s);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err.push(s);
      options.onStderr?.(s);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 3_600_000);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode ?? 1, stdout: out.join(''), stderr: err.join('') });
    });
  });
  const [output, exported, state, summary] = await Promise.all([files.output, files.env, files.state, files.summary].map((f) => readFile(f, 'utf8')));
  // The runner reads commands on both streams; the file commands are read after the step ends.
  const commands = [...workflowCommands(stdout), ...workflowCommands(stderr)];
  return {
    exitCode: code,
    stdout,
    stderr,
    outputs: { ...namedValues(commands, 'set-output'), ...parseFileCommand(output ?? '') },
    exportedEnv: parseFileCommand(exported ?? ''),
    state: { ...namedValues(commands, 'save-state'), ...parseFileCommand(state ?? '') },
    summary: summary ?? '',
    commands,
  };
}

/** The values that `::set-output name=…::` (or `save-state`) commands set. */
function namedValues(commands: readonly WorkflowCommand[], name: 'set-output' | 'save-state'): Record<string, string> {
  const values: Record<string, string> = {};
  for (const command of commands) if (command.name === name && command.properties.name) values[command.properties.name] = command.data;
  return values;
}

export interface ActionRun extends StepResult {
  post?: StepResult;
}

/** A folder for one run's file commands and RUNNER_TEMP; the caller removes it when done. */
export const makeStepDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'fleet-step-'));

/** Main step, then the post step (with STATE_*) when action.yml has one and `post-if` allows. */
export async function runActionSteps(
  actionDir: string,
  manifest: ActionManifest,
  env: Record<string, string>,
  options: Omit<StepOptions, 'env' | 'step'>,
): Promise<ActionRun> {
  if (manifest.runs.using !== 'node24') throw new Error(`${actionDir}/action.yml: runs.using is ${manifest.runs.using}, expected node24`);
  const stepEnv: Record<string, string> = { RUNNER_TEMP: options.workDir, ...env };
  const main = await runActionStep(join(actionDir, manifest.runs.main), { ...options, env: stepEnv, step: 'main' });
  if (!manifest.runs.post) return main;
  const postIf = manifest.runs['post-if'] ?? 'success()';
  const ran = postIf.includes('always()') || (postIf.includes('success()') && main.exitCode === 0) || (postIf.includes('failure()') && main.exitCode !== 0);
  if (!ran) return main;
  const postEnv: Record<string, string> = { ...stepEnv };
  for (const [name, value] of Object.entries(main.state)) postEnv[`STATE_${name}`] = value;
  const post = await runActionStep(join(actionDir, manifest.runs.post), { ...options, env: postEnv, step: 'post' });
  return { ...main, post };
}
