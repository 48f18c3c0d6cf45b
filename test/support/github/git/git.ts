import { CommandError, describeCommand, spawnProcess } from '../../../../src/util/exec.js';

export interface GitRunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Resolve with the exit code instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface GitRunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Environment for every git call: no user or system config, no prompts, stable messages. */
function gitEnvironment(gitDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    GIT_DIR: gitDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Runs git against one repository, keeping stdout as bytes (blobs may be binary). */
export class GitRunner {
  private readonly memory = new Map<string, Promise<unknown>>();

  constructor(readonly gitDir: string) {}

  /**
   * Remembers the answer to a question about immutable objects (a commit's content, the merge
   * base of two shas...). Never use it for refs: tests move them with `git push`.
   */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let answer = this.memory.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = compute();
      this.memory.set(key, answer);
      answer.catch(() => this.memory.delete(key));
    }
    return answer;
  }

  run(args: readonly string[], options: GitRunOptions = {}): Promise<GitRunResult> {
    return new Promise((resolve, reject) => {
      const child = spawnProcess('git', args, { env: gitEnvironment(this.gitDir, options.env) });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => stdout.push(b));
      child.stderr.on('data', (b: Buffer) => stderr.push(b));
      child.on('error', (err) => reject(new CommandError(describeCommand('git', args), null, '', `could not start: ${err.message}`)));
      child.on('close', (code) => {
        const result = { code: code ?? 128, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') };
        if (result.code !== 0 && !options.allowFailure) reject(new CommandError(describeCommand('git', args), code, result.stderr));
        else resolve(result);
      });
      child.stdin.on('error', () => {
        // git may exit before reading all of stdin (e.g. on a bad object); the exit code tells.
      });
      child.stdin.end(options.input ?? '');
    });
  }

  async text(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    return (await this.run(args, options)).stdout.toString('utf8').trim();
  }

  /** Runs a command that answers yes/no with its exit status (0 = yes, 1 = no). */
  async test(args: readonly string[]): Promise<boolean> {
    const result = await this.run(args, { allowFailure: true });
    if (result.code > 1) throw new CommandError(describeCommand('git', args), result.code, result.stderr);
    return result.code === 0;
  }
}
