import type { EmulatorCore } from '../core.js';
import { diffTrees } from '../git/diff.js';
import { readCommit } from '../git/objects.js';
import { listRefs } from '../git/refs.js';
import { errorBody, HttpError } from '../http-errors.js';
import { paginate } from '../pagination.js';
import { renderCommit } from '../render/commits.js';
import { renderRepository } from '../render/repository.js';
import { json, stringParam, type RouteTable } from './types.js';

function protectionOf(core: EmulatorCore, branch: string): Record<string, unknown> {
  const protection = core.protectionOf(branch);
  const contexts = protection?.requiredStatusChecks ?? [];
  return {
    enabled: protection !== undefined,
    required_status_checks: {
      enforcement_level: protection ? 'non_admins' : 'off',
      contexts,
      checks: contexts.map((context) => ({ context, app_id: null })),
    },
  };
}

const branchUrl = (core: EmulatorCore, branch: string): string => core.urls.repo(`/branches/${branch.split('/').map(encodeURIComponent).join('/')}`);

export const repoRoutes: RouteTable = {
  'repos/get': {
    handle: async ({ core }) => json(200, renderRepository(core)),
  },

  'repos/get-branch': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const { core } = ctx;
      const branch = stringParam(ctx, 'branch');
      const ref = (await listRefs(core.git, `refs/heads/${branch}`)).find((r) => r.ref === `refs/heads/${branch}`);
      if (!ref) throw new HttpError(404, errorBody(404, 'Branch not found'));
      const commit = await readCommit(core.git, ref.sha);
      const parentTree = commit.parents[0] ? (await readCommit(core.git, commit.parents[0])).tree : undefined;
      return json(200, {
        name: branch,
        commit: renderCommit(core, commit, await diffTrees(core.git, parentTree, commit.tree)),
        _links: { self: branchUrl(core, branch), html: core.urls.html(`/tree/${branch}`) },
        protected: core.protectionOf(branch) !== undefined,
        protection: protectionOf(core, branch),
        protection_url: `${branchUrl(core, branch)}/protection`,
      });
    },
  },

  'repos/list-branches': {
    permission: { contents: 'read' },
    handle: async (ctx) => {
      const { core } = ctx;
      let branches = await listRefs(core.git, 'refs/heads/');
      if (ctx.query.protected !== undefined) branches = branches.filter((b) => (core.protectionOf(b.ref.slice(11)) !== undefined) === ctx.query.protected);
      const { page, headers } = paginate(branches, ctx.query, ctx.url.href);
      return json(200, page.map((b) => {
        const name = b.ref.slice('refs/heads/'.length);
        return { name, commit: { sha: b.sha, url: core.urls.repo(`/commits/${b.sha}`) }, protected: core.protectionOf(name) !== undefined, protection_url: `${branchUrl(core, name)}/protection` };
      }), headers);
    },
  },
};
