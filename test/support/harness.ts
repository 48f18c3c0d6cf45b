import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  inputEnvironment,
  makeStepDir,
  readActionManifest as readManifestIn,
  runActionSteps,
  type ActionManifest,
  type StepResult as ProcessStepResult,
} from '../../src/local-runner/action-process.js';

export { inputVariable, parseFileCommand } from '../../src/local-runner/action-process.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface RunOptions {
  /** Inputs as a workflow's `with:` gives them; action.yml defaults fill the rest. */
  inputs?: Record<string, string>;
  /** Extra environment (GITHUB_REF, ACTIONS_ID_TOKEN_REQUEST_URL, AWS_ENDPOINT_URL_STS, …). */
  env?: Record<string, string>;
  /** Value for `${{ github.token }}` defaults. */
  githubToken?: string;
  /** A pull_request event payload, written to GITHUB_EVENT_PATH. */
  event?: object;
  cwd?: string;
  timeoutMs?: number;
}

export interface StepResult extends ProcessStepResult {
  /** `::error::` / `::warning::` / `::notice::` commands the runner would turn into annotations. */
  annotations: { level: string; message: string }[];
  /** Values the runner would mask (`::add-mask::`). */
  masks: string[];
}

export interface ActionResult extends StepResult {
  post?: StepResult;
}

export const readActionManifest = (action: string): Promise<ActionManifest> => readManifestIn(join(repoRoot, action));

/**
 * Runs `<action>/dist/index.js` (and its post step) the way the GitHub runner does: INPUT_*
 * variables with action.yml defaults applied, the file commands, STATE_* for the post step.
 */
export async function runAction(action: string, options: RunOptions = {}): Promise<ActionResult> {
  const manifest = await readActionManifest(action);
  const dir = await makeStepDir();
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
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...options.env,
    ...inputEnvironment(manifest, options.inputs ?? {}, options.githubToken),
  };
  if (options.event) {
    env.GITHUB_EVENT_PATH = join(dir, 'event.json');
    await writeFile(env.GITHUB_EVENT_PATH, JSON.stringify(options.event));
  }
  const run = await runActionSteps(join(repoRoot, action), manifest, env, { cwd: workspace, workDir: dir, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  const withAnnotations = (step: ProcessStepResult): StepResult => ({
    ...step,
    annotations: step.commands.filter((c) => ['error', 'warning', 'notice'].includes(c.name)).map((c) => ({ level: c.name, message: c.data })),
    masks: step.commands.filter((c) => c.name === 'add-mask').map((c) => c.data),
  });
  return { ...withAnnotations(run), ...(run.post ? { post: withAnnotations(run.post) } : {}) };
}

