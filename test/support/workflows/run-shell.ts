import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../../../src/util/exec.js';
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

/** Runs a `run:` script the way the runner does: a script file, the shell's flags, the file commands. */
export async function runShellStep(script: string, options: { shell: string; cwd: string; env: Record<string, string>; tempDir: string; timeoutMs: number }): Promise<ShellStepResult> {
  const dir = await mkdtemp(join(options.tempDir, 'step-'));
  const files = { script: join(dir, 'script'), output: join(dir, 'output'), env: join(dir, 'env'), path: join(dir, 'path'), summary: join(dir, 'summary.md') };
  await Promise.all([writeFile(files.script, script), writeFile(files.output, ''), writeFile(files.env, ''), writeFile(files.path, ''), writeFile(files.summary, '')]);
  const [program, ...args] = shellCommand(options.shell).map((part) => part.replace('{0}', files.script)) as [string, ...string[]];
  const env = { ...options.env, GITHUB_OUTPUT: files.output, GITHUB_ENV: files.env, GITHUB_PATH: files.path, GITHUB_STEP_SUMMARY: files.summary };
  const result = await exec(program, args, { cwd: options.cwd, env, allowFailure: true, timeoutMs: options.timeoutMs, input: '' });
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
