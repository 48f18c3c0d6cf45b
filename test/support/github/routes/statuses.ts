import { isSha, objectType } from '../git/objects.js';
import { errorBody, HttpError, validationFailed } from '../http-errors.js';
import { paginate } from '../pagination.js';
import { renderRepository } from '../render/repository.js';
import { renderCommitStatus, renderSimpleCommitStatus } from '../render/statuses.js';
import { runAutoMerges } from '../services/pulls.js';
import { combinedState, latestStatuses } from '../services/statuses.js';
import type { CommitState, CommitStatusRecord } from '../state.js';
import { resolveCommitish } from './commits.js';
import { json, stringParam, type RequestContext, type RouteTable } from './types.js';

async function commitOf(ctx: RequestContext): Promise<string> {
  const ref = stringParam(ctx, 'ref');
  const sha = await resolveCommitish(ctx.core, ref);
  if (!sha) throw new HttpError(422, errorBody(422, `No commit found for SHA: ${ref}`));
  return sha;
}

export const statusRoutes: RouteTable = {
  'repos/create-commit-status': {
    permission: { statuses: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const sha = stringParam(ctx, 'sha');
      if (!isSha(sha) || (await objectType(core.git, sha)) !== 'commit') throw new HttpError(422, errorBody(422, `No commit found for SHA: ${sha}`));
      const input = ctx.body as { state: CommitState; target_url?: string | null; description?: string | null; context?: string };
      if ((input.description ?? '').length > 140) throw validationFailed({ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' });
      const now = core.timestamp();
      const id = core.state.nextId();
      const status: CommitStatusRecord = {
        id, nodeId: core.state.nodeId('SC', id), sha, state: input.state, context: input.context ?? 'default', description: input.description ?? null,
        targetUrl: input.target_url ?? null, creator: core.actor, createdAt: now, updatedAt: now,
      };
      core.state.commitStatuses.push(status);
      // A passing check may complete an armed auto-merge, as on GitHub.
      await runAutoMerges(core);
      return json(201, renderCommitStatus(core, status), { location: core.urls.repo(`/statuses/${sha}`) });
    },
  },

  'repos/get-combined-status-for-ref': {
    permission: { statuses: 'read' },
    handle: async (ctx) => {
      const { core } = ctx;
      const sha = await commitOf(ctx);
      const latest = latestStatuses(core, sha);
      const { page, headers } = paginate(latest, ctx.query, ctx.url.href);
      return json(200, {
        state: combinedState(latest),
        statuses: page.map((s) => renderSimpleCommitStatus(core, s)),
        sha,
        total_count: latest.length,
        repository: renderRepository(core, 'minimal'),
        commit_url: core.urls.repo(`/commits/${sha}`),
        url: core.urls.repo(`/commits/${sha}/status`),
      }, headers);
    },
  },

  'repos/list-commit-statuses-for-ref': {
    permission: { statuses: 'read' },
    handle: async (ctx) => {
      const sha = await commitOf(ctx);
      const all = ctx.core.state.commitStatuses.filter((s) => s.sha === sha).sort((a, b) => b.id - a.id);
      const { page, headers } = paginate(all, ctx.query, ctx.url.href);
      return json(200, page.map((s) => renderCommitStatus(ctx.core, s)), headers);
    },
  },
};
