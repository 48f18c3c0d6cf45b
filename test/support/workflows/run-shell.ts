import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFileCommand } from '../harness.js';

export interface ShellStepResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  addedPath: string[];
  summary: string;
}

/** The runner's command lines for `shell:` values; `{0}` is the script file. */
function shellCommand(shell: string): string[] {
  switch (shell) {
    case 'bash':
      return ['bash', '--noprofile', '--norc', '-eo', 'pipefail', '{0}'];
    case 'sh':
      return ['sh', '-e', '{0}'];
    case 'python':
      return ['python3', '{0}'];
    default: {
      const parts = shell.split(/\s+/).filter(Boolean);
      return parts.includes('{0}') ? parts : [...parts, '{0}'];
    }
  }
}

/**
 * The step's process with the environment exactly as given (a `run:` step sees what the runner gives
 * it, the OIDC request variables included, unlike the children of our actions), in a process group
 * of its own so that a timeout ends everything the script started, as the runner does.
 */
function runScript(program: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (timedOut ? `\nThe step timed out after ${options.timeoutMs / 60_000} minutes.\n` : '');
      resolve({ code: timedOut ? 1 : (code ?? 1), stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

/** Runs a `run:` script the way the runner does: a script file, the shell's flags, the file commands. */
export async function runShellStep(script: string, options: { shell: string; cwd: string; env: Record<string, string>; tempDir: string; timeoutMs: number }): Promise<ShellStepResult> {
  const dir = await mkdtemp(join(options.tempDir, 'step-'));
  const files = { script: join(dir, 'script'), output: join(dir, 'output'), env: join(dir, 'env'), path: join(dir, 'path'), summary: join(dir, 'summary.md') };
  await Promise.all([writeFile(files.script, script), writeFile(files.output, ''), writeFile(files.env, ''), writeFile(files.path, ''), writeFile(files.summary, '')]);
  const [program, ...args] = shellCommand(options.shell).map((part) => part.replace('{0}', files.script)) as [string, ...string[]];
  const env = { ...options.env, GITHUB_OUTPUT: files.output, GITHUB_ENV: files.env, GITHUB_PATH: files.path, GITHUB_STEP_SUMMARY: files.summary };
  const result = await runScript(program, args, { cwd: options.cwd, env, timeoutMs: options.timeoutMs });
  const [output, exported, path, summary] = await Promise.all([files.output, files.env, files.path, files.summary].map((f) => readFile(f, 'utf8')));
  return {
    exitCode: result.code,
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: parseFileCommand(output ?? ''),
    exportedEnv: parseFileCommand(exported ?? ''),
    addedPath: (path ?? '').split('\n').filter(Boolean),
    summary: summary ?? '',
  };
}
