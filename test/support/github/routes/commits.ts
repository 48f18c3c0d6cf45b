import type { EmulatorCore } from '../core.js';
import { diffTrees } from '../git/diff.js';
import { readCommit, resolve } from '../git/objects.js';
import { commitsBetween, mergeBase } from '../git/refs.js';
import { errorBody, HttpError, notFound } from '../http-errors.js';
import { paginate } from '../pagination.js';
import { renderCommit, renderFileChange } from '../render/commits.js';
import { json, stringParam, type Reply, type RequestContext, type RouteTable } from './types.js';

/** A commit-ish as GitHub's REST routes accept it: sha, branch, tag, `heads/x`, `tags/x`. */
export async function resolveCommitish(core: EmulatorCore, ref: string): Promise<string | undefined> {
  for (const candidate of [ref, `refs/${ref}`]) {
    const sha = await resolve(core.git, candidate);
    if (sha) return sha;
  }
  return undefined;
}

async function commitWithFiles(core: EmulatorCore, sha: string): Promise<Record<string, unknown>> {
  const commit = await readCommit(core.git, sha);
  const parentTree = commit.parents[0] ? (await readCommit(core.git, commit.parents[0])).tree : undefined;
  return renderCommit(core, commit, await diffTrees(core.git, parentTree, commit.tree));
}

/** `owner:branch` (forks in the same network) names a branch of this repository here. */
const stripOwner = (side: string): string => side.replace(/^[^:/]+:/, '');

/** GitHub's three-dot comparison: what `head` adds since its merge base with `base`. */
async function compare(ctx: RequestContext, basehead: string): Promise<Reply> {
  const { core } = ctx;
  const split = basehead.indexOf('...');
  if (split === -1) throw notFound();
  const baseName = stripOwner(basehead.slice(0, split));
  const headName = stripOwner(basehead.slice(split + 3));
  const [base, head] = await Promise.all([resolveCommitish(core, baseName), resolveCommitish(core, headName)]);
  if (!base || !head) throw notFound();
  const mb = await mergeBase(core.git, base, head);
  if (!mb) throw notFound();
  const [ahead, behind] = await Promise.all([commitsBetween(core.git, mb, head), commitsBetween(core.git, mb, base)]);
  const status = ahead.length === 0 && behind.length === 0 ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
  const [baseCommit, mbCommit, headCommit] = await Promise.all([readCommit(core.git, base), readCommit(core.git, mb), readCommit(core.git, head)]);
  const files = await diffTrees(core.git, mbCommit.tree, headCommit.tree);
  // GitHub lists at most 250 commits of a comparison; files are paginated with the commits.
  const listed = ahead.slice(0, 250);
  const { page, headers } = paginate(listed, ctx.query, ctx.url.href);
  return json(200, {
    url: core.urls.repo(`/compare/${basehead}`),
    html_url: core.urls.html(`/compare/${basehead}`),
    permalink_url: core.urls.html(`/compare/${core.settings.owner}:${base.slice(0, 7)}...${core.settings.owner}:${head.slice(0, 7)}`),
    diff_url: core.urls.html(`/compare/${basehead}.diff`),
    patch_url: core.urls.html(`/compare/${basehead}.patch`),
    base_commit: renderCommit(core, baseCommit),
    merge_base_commit: renderCommit(core, mbCommit),
    status,
    ahead_by: ahead.length,
    behind_by: behind.length,
    total_commits: ahead.length,
    commits: await Promise.all(page.map(async (sha) => renderCommit(core, await readCommit(core.git, sha)))),
    files: files.map((f) => renderFileChange(core, f, head)),
  }, headers);
}

export const commitRoutes: RouteTable = {
  'repos/get-commit': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const ref = stringParam(ctx, 'ref');
      const sha = await resolveCommitish(ctx.core, ref);
      if (!sha) throw new HttpError(422, errorBody(422, `No commit found for SHA: ${ref}`));
      return json(200, await commitWithFiles(ctx.core, sha));
    },
  },

  'repos/list-commits': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const { core, query } = ctx;
      const start = await resolveCommitish(core, String(query.sha ?? core.settings.defaultBranch));
      if (!start) throw notFound();
      const args = ['rev-list', start];
      if (typeof query.path === 'string') args.push('--', query.path);
      const shas = (await core.git.text(args)).split('\n').filter(Boolean);
      const { page, headers } = paginate(shas, query, ctx.url.href);
      const commits = await Promise.all(page.map(async (sha) => renderCommit(core, await readCommit(core.git, sha))));
      return json(200, commits, headers);
    },
  },

  'repos/compare-commits-with-basehead': {
    permission: { contents: 'read' },
    handle: (ctx) => compare(ctx, stringParam(ctx, 'basehead')),
  },

  // The older spelling of the same URL: `/compare/{base}...{head}`.
  'repos/compare-commits': {
    permission: { contents: 'read' },
    handle: (ctx) => compare(ctx, `${stringParam(ctx, 'base')}...${stringParam(ctx, 'head')}`),
  },
};
