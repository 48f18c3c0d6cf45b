import type { EmulatorCore } from '../core.js';
import { readCommit } from '../git/objects.js';
import { branchSha, commitsBetween, mergeBase } from '../git/refs.js';
import { errorBody, forbidden, HttpError, notFound, validationFailed } from '../http-errors.js';
import { paginate } from '../pagination.js';
import { actionsCannotCreatePullRequestsMessage } from '../permissions.js';
import { renderCommit, renderFileChange } from '../render/commits.js';
import { renderPull, renderPullSimple } from '../render/pulls.js';
import { issueOf, mergePull, pullFacts, refreshPull } from '../services/pulls.js';
import type { IssueRecord, MergeMethod, PullRecord } from '../state.js';
import { intParam, json, type RequestContext, type RouteTable } from './types.js';

export function findPull(ctx: RequestContext): PullRecord {
  const pull = ctx.core.state.pulls.get(intParam(ctx, 'pull_number'));
  if (!pull) throw notFound();
  return pull;
}

/** `owner:branch` or `branch`; a different owner would be a fork, which the emulator has none of. */
function headBranch(core: EmulatorCore, head: string): string {
  const colon = head.indexOf(':');
  if (colon === -1) return head;
  if (head.slice(0, colon).toLowerCase() !== core.settings.owner.toLowerCase()) {
    throw validationFailed({ resource: 'PullRequest', field: 'head', code: 'invalid' });
  }
  return head.slice(colon + 1);
}

function openDuplicate(core: EmulatorCore, headRef: string, baseRef: string, except?: number): PullRecord | undefined {
  return [...core.state.pulls.values()].find((p) => p.number !== except && p.headRef === headRef && p.baseRef === baseRef && issueOf(core, p).state === 'open');
}

async function detailed(core: EmulatorCore, pull: PullRecord): Promise<Record<string, unknown>> {
  return renderPull(core, pull, await pullFacts(core, pull));
}

function sortPulls(pulls: PullRecord[], core: EmulatorCore, sort: string, direction: string | undefined): PullRecord[] {
  const key = (p: PullRecord): string | number => {
    const issue = issueOf(core, p);
    return sort === 'updated' ? issue.updatedAt : p.number;
  };
  const dir = direction ?? (sort === 'created' || sort === 'updated' ? 'desc' : 'asc');
  return [...pulls].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const order = ka < kb ? -1 : ka > kb ? 1 : a.number - b.number;
    return dir === 'desc' ? -order : order;
  });
}

export const pullRoutes: RouteTable = {
  'pulls/list': {
    permission: { pullRequests: 'read' },
    handle: async (ctx) => {
      const { core, query } = ctx;
      const state = String(query.state ?? 'open');
      let pulls = [...core.state.pulls.values()];
      await Promise.all(pulls.map((p) => refreshPull(core, p)));
      if (state !== 'all') pulls = pulls.filter((p) => issueOf(core, p).state === state);
      if (typeof query.head === 'string') {
        // GitHub only filters on `user:ref-name`; a bare branch name is silently ignored.
        const colon = query.head.indexOf(':');
        if (colon === -1) {
          ctx.warn(`pulls/list head filter "${query.head}" is not "owner:branch": GitHub ignores it and lists every pull request`);
        } else {
          const owner = query.head.slice(0, colon).toLowerCase();
          const ref = query.head.slice(colon + 1);
          pulls = owner === core.settings.owner.toLowerCase() ? pulls.filter((p) => p.headRef === ref) : [];
        }
      }
      if (typeof query.base === 'string') pulls = pulls.filter((p) => p.baseRef === query.base);
      const sorted = sortPulls(pulls, core, String(query.sort ?? 'created'), query.direction as string | undefined);
      const { page, headers } = paginate(sorted, query, ctx.url.href);
      return json(200, page.map((p) => renderPullSimple(core, p)), headers);
    },
  },

  'pulls/create': {
    permission: { pullRequests: 'write' },
    handle: async ({ core, body }) => {
      if (!core.permissions.allowActionsToCreatePullRequests) throw forbidden(actionsCannotCreatePullRequestsMessage);
      const input = body as { title?: string; head: string; base: string; body?: string; draft?: boolean; maintainer_can_modify?: boolean; issue?: number };
      const converted = input.issue !== undefined ? core.state.issues.get(input.issue) : undefined;
      if (input.issue !== undefined && (!converted || converted.isPullRequest)) throw validationFailed({ resource: 'PullRequest', field: 'issue', code: 'invalid' });
      if (input.title === undefined && !converted) throw validationFailed({ resource: 'PullRequest', field: 'title', code: 'missing_field' });
      const headRef = headBranch(core, input.head);
      const [headSha, baseSha] = await Promise.all([branchSha(core.git, headRef), branchSha(core.git, input.base)]);
      const errors = [];
      if (!baseSha) errors.push({ resource: 'PullRequest', field: 'base', code: 'invalid' } as const);
      if (!headSha) errors.push({ resource: 'PullRequest', field: 'head', code: 'invalid' } as const);
      if (!headSha || !baseSha) throw validationFailed(...errors);
      if (openDuplicate(core, headRef, input.base)) {
        throw validationFailed({ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${core.settings.owner}:${headRef}.` });
      }
      const mb = await mergeBase(core.git, baseSha, headSha);
      if (!mb) throw validationFailed({ resource: 'PullRequest', code: 'custom', message: `The ${headRef} branch has no history in common with ${input.base}` });
      if ((await commitsBetween(core.git, baseSha, headSha)).length === 0) {
        throw validationFailed({ resource: 'PullRequest', code: 'custom', message: `No commits between ${input.base} and ${headRef}` });
      }

      const now = core.timestamp();
      const state = core.state;
      let issue: IssueRecord;
      if (converted) {
        issue = converted;
        issue.isPullRequest = true;
        issue.updatedAt = now;
      } else {
        const number = state.nextIssueNumber++;
        const id = state.nextId();
        issue = { id, nodeId: state.nodeId('I', id), number, title: input.title as string, body: input.body ?? null, state: 'open', stateReason: null, labels: [], user: core.actor, createdAt: now, updatedAt: now, closedAt: null, closedBy: null, locked: false, isPullRequest: true };
        state.issues.set(number, issue);
      }
      const id = state.nextId();
      const pull: PullRecord = {
        number: issue.number, id, nodeId: state.nodeId('PR', id), headRef, baseRef: input.base, headSha, baseSha,
        draft: input.draft ?? false, maintainerCanModify: input.maintainer_can_modify ?? true, merged: false, mergedAt: null, mergedBy: null,
        mergeCommitSha: null, requestedReviewers: [], requestedTeams: [], autoMerge: null,
      };
      state.pulls.set(pull.number, pull);
      return json(201, await detailed(core, pull), { location: core.urls.repo(`/pulls/${pull.number}`) });
    },
  },

  'pulls/get': {
    permission: { pullRequests: 'read' },
    handle: async (ctx) => json(200, await detailed(ctx.core, findPull(ctx))),
  },

  'pulls/update': {
    permission: { pullRequests: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const pull = findPull(ctx);
      await refreshPull(core, pull);
      const issue = issueOf(core, pull);
      const input = ctx.body as { title?: string; body?: string; state?: 'open' | 'closed'; base?: string; maintainer_can_modify?: boolean };
      const now = core.timestamp();
      if (input.base !== undefined && input.base !== pull.baseRef) {
        const baseSha = await branchSha(core.git, input.base);
        if (!baseSha) throw validationFailed({ resource: 'PullRequest', field: 'base', code: 'invalid', message: `Proposed base branch '${input.base}' was not found` });
        if (openDuplicate(core, pull.headRef, input.base, pull.number)) {
          throw validationFailed({ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for base branch '${input.base}' and head branch '${pull.headRef}'` });
        }
        pull.baseRef = input.base;
        pull.baseSha = baseSha;
      }
      if (input.state === 'closed' && issue.state === 'open') {
        issue.state = 'closed';
        issue.closedAt = now;
        issue.closedBy = core.actor;
        pull.autoMerge = null;
      } else if (input.state === 'open' && issue.state === 'closed') {
        if (pull.merged) throw validationFailed({ resource: 'PullRequest', code: 'custom', field: 'state', message: 'state cannot be changed. The pull request has already been merged.' });
        if (!(await branchSha(core.git, pull.headRef))) throw validationFailed({ resource: 'PullRequest', code: 'custom', field: 'state', message: 'state cannot be changed. The head branch has been deleted.' });
        if (openDuplicate(core, pull.headRef, pull.baseRef, pull.number)) {
          throw validationFailed({ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${core.settings.owner}:${pull.headRef}.` });
        }
        issue.state = 'open';
        issue.stateReason = 'reopened';
        issue.closedAt = null;
        issue.closedBy = null;
        await refreshPull(core, pull);
      }
      if (input.title !== undefined) issue.title = input.title;
      if (input.body !== undefined) issue.body = input.body;
      if (input.maintainer_can_modify !== undefined) pull.maintainerCanModify = input.maintainer_can_modify;
      issue.updatedAt = now;
      return json(200, await detailed(core, pull));
    },
  },

  'pulls/merge': {
    permission: [{ pullRequests: 'write' }, { contents: 'write' }],
    handle: async (ctx) => {
      const pull = findPull(ctx);
      const input = (ctx.body ?? {}) as { commit_title?: string; commit_message?: string; sha?: string; merge_method?: MergeMethod };
      const sha = await mergePull(ctx.core, pull, {
        method: input.merge_method ?? 'merge',
        by: ctx.core.actor,
        ...(input.sha !== undefined ? { sha: input.sha } : {}),
        ...(input.commit_title !== undefined ? { commitTitle: input.commit_title } : {}),
        ...(input.commit_message !== undefined ? { commitMessage: input.commit_message } : {}),
      });
      return json(200, { sha, merged: true, message: 'Pull Request successfully merged' });
    },
  },

  'pulls/check-if-merged': {
    permission: { pullRequests: 'read' },
    handle: async (ctx) => {
      const pull = findPull(ctx);
      await refreshPull(ctx.core, pull);
      if (!pull.merged) throw notFound();
      return json(204);
    },
  },

  'pulls/request-reviewers': {
    permission: { pullRequests: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const pull = findPull(ctx);
      const issue = issueOf(core, pull);
      const input = ctx.body as { reviewers?: string[]; team_reviewers?: string[] };
      const reviewers = input.reviewers ?? [];
      if (reviewers.some((r) => r.toLowerCase() === issue.user.login.toLowerCase())) {
        throw validationFailed({ resource: 'PullRequest', code: 'custom', message: 'Review cannot be requested from pull request author.' });
      }
      const collaborators = core.settings.collaborators?.map((c) => c.toLowerCase());
      if (collaborators && reviewers.some((r) => !collaborators.includes(r.toLowerCase()))) {
        throw new HttpError(422, errorBody(422, `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${core.settings.owner}/${core.settings.repo} repository.`));
      }
      for (const login of reviewers) {
        const user = core.user(login);
        if (!pull.requestedReviewers.some((r) => r.toLowerCase() === user.login.toLowerCase())) pull.requestedReviewers.push(user.login);
      }
      for (const slug of input.team_reviewers ?? []) {
        if (!pull.requestedTeams.includes(slug)) pull.requestedTeams.push(slug);
      }
      issue.updatedAt = core.timestamp();
      return json(201, renderPullSimple(core, pull));
    },
  },

  'pulls/remove-requested-reviewers': {
    permission: { pullRequests: 'write' },
    handle: async (ctx) => {
      const pull = findPull(ctx);
      const input = ctx.body as { reviewers: string[]; team_reviewers?: string[] };
      const drop = new Set(input.reviewers.map((r) => r.toLowerCase()));
      pull.requestedReviewers = pull.requestedReviewers.filter((r) => !drop.has(r.toLowerCase()));
      pull.requestedTeams = pull.requestedTeams.filter((t) => !(input.team_reviewers ?? []).includes(t));
      return json(200, renderPullSimple(ctx.core, pull));
    },
  },

  'pulls/list-files': {
    permission: { pullRequests: 'read' },
    handle: async (ctx) => {
      const pull = findPull(ctx);
      const facts = await pullFacts(ctx.core, pull);
      const { page, headers } = paginate(facts.files, ctx.query, ctx.url.href);
      return json(200, page.map((f) => renderFileChange(ctx.core, f, pull.headSha)), headers);
    },
  },

  'pulls/list-commits': {
    permission: { pullRequests: 'read' },
    handle: async (ctx) => {
      const { core } = ctx;
      const pull = findPull(ctx);
      await refreshPull(core, pull);
      const mb = (await mergeBase(core.git, pull.baseSha, pull.headSha)) ?? pull.baseSha;
      const shas = await commitsBetween(core.git, mb, pull.headSha);
      const { page, headers } = paginate(shas, ctx.query, ctx.url.href);
      return json(200, await Promise.all(page.map(async (sha) => renderCommit(core, await readCommit(core.git, sha)))), headers);
    },
  },
};
