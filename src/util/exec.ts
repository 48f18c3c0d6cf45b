import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { childProxyEnvironment } from './proxy.js';

export interface ExecOptions {
  cwd?: string;
  /** The child's environment (default process.env), always without the runner's secrets (childEnvironment). */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  timeoutMs?: number;
  /** Resolve with the exit code instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  signal?: AbortSignal;
  /** Called with each chunk of stderr as it arrives (progress, build logs). */
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
    reason?: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-20).join('\n');
    super(`${command} ${reason ?? `exited with code ${code}`}${tail ? `:\n${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Describes a command for messages; arguments are never passed through a shell. */
export function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs a program with an argument array and collects its output. */
export function exec(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawnProcess(cmd, args, options);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => {
      stderr.push(b);
      options.onStderr?.(b.toString('utf8'));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(describeCommand(cmd, args), null, '', `could not start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code: code ?? 128,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (timedOut) {
        reject(new CommandError(describeCommand(cmd, args), null, result.stderr, `timed out after ${options.timeoutMs} ms`));
      } else if (result.code !== 0 && !options.allowFailure) {
        reject(new CommandError(describeCommand(cmd, args), code, result.stderr, signal ? `was killed by ${signal}` : undefined));
      } else {
        resolve(result);
      }
    });
    // A child may exit without reading its input (ssh that cannot connect): that is its exit
    // code's business, not an EPIPE that takes this process down.
    child.stdin.on('error', () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/**
 * Variables the runner gives an action that no child of ours needs: every input (secret ones such
 * as `ssh-private-key`, `github-token` or `signing-key` among them; each action reads its inputs
 * in-process) and the tokens for OIDC and the Actions services, which are used in-process too.
 */
const RUNNER_SECRET = /^(INPUT_.*|ACTIONS_ID_TOKEN_REQUEST_TOKEN|ACTIONS_ID_TOKEN_REQUEST_URL|ACTIONS_RUNTIME_TOKEN)$/i;

/** `env` without the runner's secrets, with the proxy settings as libcurl reads them: what every child gets, whatever the call site passed. */
export function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(env).filter(([name]) => !RUNNER_SECRET.test(name))), ...childProxyEnvironment(env) };
}

export interface SpawnOptions extends Pick<ExecOptions, 'cwd' | 'env' | 'signal'> {
  /**
   * Passes `env` as given, runner secrets included. Only for a child that is itself an action step
   * (the local runner): it reads its inputs and tokens from its environment, as under the runner.
   */
  actionStep?: boolean;
}

/** Starts a program whose stdout the caller consumes as a stream. */
export function spawnProcess(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
  const env = options.env ?? process.env;
  return spawn(cmd, args, {
    cwd: options.cwd,
    env: options.actionStep ? env : childEnvironment(env),
    signal: options.signal,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
