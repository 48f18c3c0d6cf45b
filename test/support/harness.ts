import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

interface ActionManifest {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  outputs?: Record<string, unknown>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
}

export interface RunOptions {
  /** Inputs as a workflow's `with:` gives them; action.yml defaults fill the rest. */
  inputs?: Record<string, string>;
  /** Extra environment (GITHUB_REF, ACTIONS_ID_TOKEN_REQUEST_URL, AWS_ENDPOINT_URL_STS, …). */
  env?: Record<string, string>;
  /** Values for `${{ github.token }}`-style defaults. */
  githubToken?: string;
  /** A pull_request event payload, written to GITHUB_EVENT_PATH. */
  event?: object;
  cwd?: string;
  timeoutMs?: number;
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
  /** `::error::` / `::warning::` lines the runner would turn into annotations. */
  annotations: { level: string; message: string }[];
  files: { output: string; env: string; state: string; summary: string };
}

export interface ActionResult extends StepResult {
  post?: StepResult;
}

export async function readActionManifest(action: string): Promise<ActionManifest> {
  return parseYaml(await readFile(join(repoRoot, action, 'action.yml'), 'utf8')) as ActionManifest;
}

/**
 * Runs `<action>/dist/index.js` (and its post step) the way the GitHub runner does:
 * INPUT_* variables with action.yml defaults applied, the file commands, STATE_* for the post step.
 */
export async function runAction(action: string, options: RunOptions = {}): Promise<ActionResult> {
  const manifest = await readActionManifest(action);
  if (manifest.runs.using !== 'node24') throw new Error(`${action}/action.yml: runs.using is ${manifest.runs.using}, expected node24`);
  const dir = await mkdtemp(join(tmpdir(), 'fleet-runner-'));
  const workspace = options.cwd ?? dir;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    ...(process.env.NIX_CONFIG ? { NIX_CONFIG: process.env.NIX_CONFIG } : {}),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_REPOSITORY: 'acme/fleet',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_EVENT_NAME: options.event ? 'pull_request' : 'push',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTION_PATH: join(repoRoot, action),
    RUNNER_TEMP: dir,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...options.env,
  };
  if (options.event) {
    env.GITHUB_EVENT_PATH = join(dir, 'event.json');
    await writeFile(env.GITHUB_EVENT_PATH, JSON.stringify(options.event));
  }
  for (const [name, spec] of Object.entries(manifest.inputs ?? {})) {
    const given = options.inputs?.[name];
    const value = given ?? (spec.default !== undefined ? evaluateDefault(spec.default, options) : undefined);
    if (value !== undefined) env[inputVariable(name)] = value;
  }
  for (const name of Object.keys(options.inputs ?? {})) {
    if (!manifest.inputs?.[name]) throw new Error(`${action}/action.yml has no input "${name}"`);
  }

  const main = await runStep(join(repoRoot, action, manifest.runs.main), env, dir, 'main', workspace, options.timeoutMs);
  if (!manifest.runs.post) return main;
  const postIf = manifest.runs['post-if'] ?? 'success()';
  const runPost = postIf.includes('always()') || (postIf.includes('success()') && main.exitCode === 0) || (postIf.includes('failure()') && main.exitCode !== 0);
  if (!runPost) return main;
  const postEnv = { ...env };
  for (const [name, value] of Object.entries(main.state)) postEnv[`STATE_${name}`] = value;
  const post = await runStep(join(repoRoot, action, manifest.runs.post), postEnv, dir, 'post', workspace, options.timeoutMs);
  return { ...main, post };
}

/** `with: { signing-key: x }` becomes INPUT_SIGNING-KEY, as the runner does (hyphens kept). */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function evaluateDefault(value: string, options: RunOptions): string {
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    if (expression === 'github.token') return options.githubToken ?? '';
    throw new Error(`the harness cannot evaluate the default expression \${{ ${expression} }}`);
  });
}

async function runStep(script: string, baseEnv: Record<string, string>, dir: string, step: string, cwd: string, timeoutMs = 300_000): Promise<StepResult> {
  const files = {
    output: join(dir, `${step}-output`),
    env: join(dir, `${step}-env`),
    state: join(dir, `${step}-state`),
    summary: join(dir, `${step}-summary.md`),
  };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
  const env = {
    ...baseEnv,
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_PATH: join(dir, `${step}-path`),
  };
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolveRun, reject) => {
    const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolveRun({ code: exitCode ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
  const [output, envFile, state, summary] = await Promise.all([files.output, files.env, files.state, files.summary].map((f) => readFile(f, 'utf8')));
  return {
    exitCode: code,
    stdout,
    stderr,
    outputs: parseFileCommand(output ?? ''),
    exportedEnv: parseFileCommand(envFile ?? ''),
    state: parseFileCommand(state ?? ''),
    summary: summary ?? '',
    annotations: parseAnnotations(stdout),
    files,
  };
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

function parseAnnotations(stdout: string): { level: string; message: string }[] {
  return [...stdout.matchAll(/^::(error|warning|notice)[^:]*::(.*)$/gm)].map((m) => ({
    level: m[1] as string,
    message: (m[2] as string).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'),
  }));
}

export const actionDir = (action: string): string => join(repoRoot, action);
