import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type ExecOptions } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import type { BranchWriter, CommitPlan } from './branch-writer.js';
import { fileBytes, fileMode } from './git-data.js';

export interface GitWriterOptions {
  /** A clone of the repository (the job's checkout). */
  cwd: string;
  remote?: string;
  /**
   * Token for HTTPS pushes. Given to git through GIT_CONFIG_* environment variables (never argv
   * or disk), and only when the checkout has no credentials of its own (actions/checkout stores
   * an `http.<url>.extraheader`; a second Authorization header would make GitHub refuse the push).
   */
  token?: string;
  /** Commit identity; defaults to the github-actions bot. */
  author?: { name: string; email: string };
  env?: NodeJS.ProcessEnv;
}

const BOT = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' };

/**
 * Commits with git plumbing in a private index (the checkout's files and index stay untouched) and
 * pushes with `git push` (no `--force`).
 */
export function gitBranchWriter(options: GitWriterOptions): BranchWriter {
  const remote = options.remote ?? 'origin';
  const author = options.author ?? BOT;
  let authEnv: Promise<NodeJS.ProcessEnv> | undefined;

  const git = (args: string[], extra: ExecOptions = {}) =>
    exec('git', args, {
      cwd: options.cwd,
      ...extra,
      env: {
        ...(options.env ?? process.env),
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
        ...extra.env,
      },
    });

  const credentials = (): Promise<NodeJS.ProcessEnv> => {
    authEnv ??= (async () => {
      if (!options.token) return {};
      const url = (await git(['remote', 'get-url', '--push', remote])).stdout.trim();
      if (!/^https?:\/\//.test(url)) return {};
      const existing = await git(['config', '--get-regexp', '^http\\..*extraheader$'], { allowFailure: true });
      if (existing.stdout.trim()) return {};
      const basic = Buffer.from(`x-access-token:${options.token}`).toString('base64');
      const origin = new URL(url);
      return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${origin.protocol}//${origin.host}/.extraheader`, GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}` };
    })();
    return authEnv;
  };

  return {
    method: 'git',
    async commit(plan: CommitPlan): Promise<string> {
      const env = await credentials();
      const refspecs = [...new Set(plan.sourceBranches)].map((b) => `refs/heads/${b}`);
      if (refspecs.length > 0) await git(['fetch', '--no-tags', '--quiet', remote, ...refspecs], { env });
      for (const sha of [...plan.parents, plan.baseTree]) {
        const present = await git(['cat-file', '-e', sha], { allowFailure: true });
        if (present.code !== 0) throw new UserError(`git: ${sha} is not in the checkout at ${options.cwd} after fetching ${refspecs.join(' ')}`);
      }
      const dir = await mkdtemp(join(tmpdir(), 'fleet-index-'));
      try {
        const indexEnv = { GIT_INDEX_FILE: join(dir, 'index') };
        await git(['read-tree', plan.baseTree], { env: indexEnv });
        for (const [path, file] of Object.entries(plan.files)) {
          if (file === null) {
            await git(['update-index', '--force-remove', '--', path], { env: indexEnv });
            continue;
          }
          const blob = (await git(['hash-object', '-w', '--stdin'], { input: fileBytes(file) })).stdout.trim();
          await git(['update-index', '--add', '--cacheinfo', `${fileMode(file)},${blob},${path}`], { env: indexEnv });
        }
        const tree = (await git(['write-tree'], { env: indexEnv })).stdout.trim();
        const parents = plan.parents.flatMap((p) => ['-p', p]);
        return (await git(['commit-tree', tree, ...parents, '-F', '-'], { input: plan.message })).stdout.trim();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async publish(branch: string, sha: string, create: boolean): Promise<void> {
      const env = await credentials();
      const result = await git(['push', '--porcelain', remote, `${sha}:refs/heads/${branch}`], { env, allowFailure: true });
      if (result.code !== 0) {
        const detail = (result.stderr + result.stdout).trim().split('\n').slice(-5).join('\n');
        throw new UserError(`git push of ${branch} (${create ? 'new branch' : 'fast-forward'}) was refused:\n${detail}`);
      }
    },
  };
}
