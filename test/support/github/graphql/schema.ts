import type { EmulatorCore } from '../core.js';
import { branchSha } from '../git/refs.js';
import { HttpError } from '../http-errors.js';
import { grants, integrationForbiddenMessage } from '../permissions.js';
import { issueOf, mergePull, methodAllowed, pullFacts, refreshPull } from '../services/pulls.js';
import type { LabelRecord, MergeMethod, PullRecord, UserRecord } from '../state.js';
import { FieldError, type FieldDef, type Schema, type Typed } from './execute.js';

export interface GraphQLContext {
  core: EmulatorCore;
}

type Ctx = GraphQLContext;

/** Resolver with a typed source (the executor passes whatever the parent resolved to). */
function field<S>(type: string, resolve: (source: S, args: Record<string, unknown>, ctx: Ctx) => unknown, args?: string[]): FieldDef<Ctx> {
  return { type, ...(args ? { args } : {}), resolve: resolve as FieldDef<Ctx>['resolve'] };
}

/** GraphQL spells bot logins without the `[bot]` suffix REST uses. */
function actor(user: UserRecord): Typed {
  return { typename: user.type === 'Bot' ? 'Bot' : user.type, source: user };
}

const graphqlLogin = (user: UserRecord): string => (user.type === 'Bot' ? user.login.replace(/\[bot\]$/, '') : user.login);

function connection<T>(items: T[], args: Record<string, unknown>): Record<string, unknown> {
  const first = typeof args.first === 'number' ? args.first : undefined;
  const last = typeof args.last === 'number' ? args.last : undefined;
  const page = first !== undefined ? items.slice(0, first) : last !== undefined ? items.slice(-last) : items;
  return {
    totalCount: items.length,
    nodes: page,
    edges: page.map((node, i) => ({ node, cursor: Buffer.from(`cursor:${i + 1}`).toString('base64') })),
    pageInfo: { hasNextPage: page.length < items.length && first !== undefined, hasPreviousPage: page.length < items.length && last !== undefined, startCursor: null, endCursor: null },
  };
}

function requireWrite(ctx: Ctx): void {
  if (!grants(ctx.core.permissions, { pullRequests: 'write' })) throw new FieldError(integrationForbiddenMessage, 'FORBIDDEN');
}

function pullById(ctx: Ctx, id: unknown): PullRecord {
  const pull = ctx.core.state.pullByNodeId(String(id));
  if (!pull) throw new FieldError(`Could not resolve to a node with the global id of '${String(id)}'`, 'NOT_FOUND');
  return pull;
}

const mergeMethods: Record<string, MergeMethod> = { MERGE: 'merge', SQUASH: 'squash', REBASE: 'rebase' };

function mergeMethodOf(value: unknown): MergeMethod {
  const method = mergeMethods[String(value ?? 'MERGE')];
  if (!method) throw new FieldError(`Argument 'mergeMethod' on InputObject has an invalid value (${String(value)}). Expected type 'PullRequestMergeMethod'.`, 'INVALID_ARGUMENT');
  return method;
}

const pullRequestFields: Record<string, FieldDef<Ctx>> = {
  id: field<PullRecord>('ID', (p) => p.nodeId),
  number: field<PullRecord>('Int', (p) => p.number),
  title: field<PullRecord>('String', (p, _a, c) => issueOf(c.core, p).title),
  body: field<PullRecord>('String', (p, _a, c) => issueOf(c.core, p).body ?? ''),
  url: field<PullRecord>('URI', (p, _a, c) => c.core.urls.html(`/pull/${p.number}`)),
  permalink: field<PullRecord>('URI', (p, _a, c) => c.core.urls.html(`/pull/${p.number}`)),
  state: field<PullRecord>('PullRequestState', async (p, _a, c) => {
    await refreshPull(c.core, p);
    return p.merged ? 'MERGED' : issueOf(c.core, p).state === 'open' ? 'OPEN' : 'CLOSED';
  }),
  isDraft: field<PullRecord>('Boolean', (p) => p.draft),
  merged: field<PullRecord>('Boolean', async (p, _a, c) => {
    await refreshPull(c.core, p);
    return p.merged;
  }),
  mergedAt: field<PullRecord>('DateTime', (p) => p.mergedAt),
  closed: field<PullRecord>('Boolean', (p, _a, c) => issueOf(c.core, p).state === 'closed'),
  closedAt: field<PullRecord>('DateTime', (p, _a, c) => issueOf(c.core, p).closedAt),
  createdAt: field<PullRecord>('DateTime', (p, _a, c) => issueOf(c.core, p).createdAt),
  updatedAt: field<PullRecord>('DateTime', (p, _a, c) => issueOf(c.core, p).updatedAt),
  headRefName: field<PullRecord>('String', (p) => p.headRef),
  baseRefName: field<PullRecord>('String', (p) => p.baseRef),
  headRefOid: field<PullRecord>('GitObjectID', async (p, _a, c) => {
    await refreshPull(c.core, p);
    return p.headSha;
  }),
  baseRefOid: field<PullRecord>('GitObjectID', async (p, _a, c) => {
    await refreshPull(c.core, p);
    return p.baseSha;
  }),
  headRef: field<PullRecord>('Ref', async (p, _a, c) => {
    const sha = await branchSha(c.core.git, p.headRef);
    return sha ? { name: p.headRef, sha } : null;
  }),
  baseRef: field<PullRecord>('Ref', async (p, _a, c) => {
    const sha = await branchSha(c.core.git, p.baseRef);
    return sha ? { name: p.baseRef, sha } : null;
  }),
  mergeable: field<PullRecord>('MergeableState', async (p, _a, c) => {
    const facts = await pullFacts(c.core, p);
    return facts.mergeable === null ? 'UNKNOWN' : facts.mergeable ? 'MERGEABLE' : 'CONFLICTING';
  }),
  mergeStateStatus: field<PullRecord>('MergeStateStatus', async (p, _a, c) => (await pullFacts(c.core, p)).mergeableState.toUpperCase()),
  autoMergeRequest: field<PullRecord>('AutoMergeRequest', (p) => (p.autoMerge ? p : null)),
  viewerCanEnableAutoMerge: field<PullRecord>('Boolean', (p, _a, c) => c.core.settings.allowAutoMerge && !p.autoMerge && issueOf(c.core, p).state === 'open'),
  viewerCanDisableAutoMerge: field<PullRecord>('Boolean', (p) => p.autoMerge !== null),
  mergeCommit: field<PullRecord>('Commit', (p) => (p.mergeCommitSha ? { sha: p.mergeCommitSha } : null)),
  author: field<PullRecord>('Actor', (p, _a, c) => actor(issueOf(c.core, p).user)),
  repository: field<PullRecord>('Repository', (_p, _a, c) => c.core),
  labels: field<PullRecord>('LabelConnection', (p, args, c) => connection(issueOf(c.core, p).labels.flatMap((k) => c.core.state.labels.get(k) ?? []), args), ['first', 'last', 'after', 'before', 'orderBy']),
};

const actorFields = (): Record<string, FieldDef<Ctx>> => ({
  login: field<UserRecord>('String', (u) => graphqlLogin(u)),
  id: field<UserRecord>('ID', (u, _a, c) => c.core.state.nodeId(u.type === 'Bot' ? 'BOT' : u.type === 'Organization' ? 'O' : 'U', u.id)),
  url: field<UserRecord>('URI', (u, _a, c) => c.core.urls.userHtml(u.login)),
  avatarUrl: field<UserRecord>('URI', (u) => `https://avatars.githubusercontent.com/u/${u.id}?v=4`, ['size']),
});

function payload(): Record<string, FieldDef<Ctx>> {
  return {
    clientMutationId: field<{ clientMutationId: unknown }>('String', (s) => s.clientMutationId ?? null),
    pullRequest: field<{ pull: PullRecord }>('PullRequest', (s) => s.pull),
    actor: field<{ by: UserRecord }>('Actor', (s) => actor(s.by)),
  };
}

export const schema: Schema<Ctx> = {
  Query: {
    fields: {
      repository: field<null>('Repository', (_s, args, c) => {
        const s = c.core.settings;
        if (String(args.owner).toLowerCase() !== s.owner.toLowerCase() || String(args.name).toLowerCase() !== s.repo.toLowerCase()) {
          throw new FieldError(`Could not resolve to a Repository with the name '${String(args.owner)}/${String(args.name)}'.`, 'NOT_FOUND');
        }
        return c.core;
      }, ['owner!', 'name!', 'followRenames']),
      node: field<null>('Node', (_s, args, c) => {
        const pull = c.core.state.pullByNodeId(String(args.id));
        if (pull) return { typename: 'PullRequest', source: pull } satisfies Typed;
        if (String(args.id) === c.core.state.nodeId('R', c.core.state.repoId)) return { typename: 'Repository', source: c.core } satisfies Typed;
        throw new FieldError(`Could not resolve to a node with the global id of '${String(args.id)}'`, 'NOT_FOUND');
      }, ['id!']),
      viewer: field<null>('Actor', (_s, _a, c) => actor(c.core.actor)),
    },
  },
  Mutation: {
    fields: {
      enablePullRequestAutoMerge: field<null>('EnablePullRequestAutoMergePayload', async (_s, args, c) => {
        requireWrite(c);
        const input = (args.input ?? {}) as Record<string, unknown>;
        const pull = pullById(c, input.pullRequestId);
        const method = mergeMethodOf(input.mergeMethod);
        await refreshPull(c.core, pull);
        if (issueOf(c.core, pull).state !== 'open') throw new FieldError('Pull request Pull request is closed', 'UNPROCESSABLE');
        if (!c.core.settings.allowAutoMerge) throw new FieldError('Pull request Auto merge is not allowed for this repository', 'UNPROCESSABLE');
        if (!methodAllowed(c.core, method)) throw new FieldError(`Pull request Merge method ${method} is not allowed on this repository`, 'UNPROCESSABLE');
        if (input.expectedHeadOid !== undefined && input.expectedHeadOid !== pull.headSha) throw new FieldError('Pull request The expected head OID does not match the head of the pull request', 'UNPROCESSABLE');
        // GitHub refuses to arm auto-merge when nothing is pending: the caller should merge instead.
        if ((await pullFacts(c.core, pull)).mergeableState === 'clean') throw new FieldError('Pull request Pull request is in clean status', 'UNPROCESSABLE');
        pull.autoMerge = {
          method,
          enabledBy: c.core.actor,
          enabledAt: c.core.timestamp(),
          commitTitle: typeof input.commitHeadline === 'string' ? input.commitHeadline : null,
          commitMessage: typeof input.commitBody === 'string' ? input.commitBody : null,
        };
        return { clientMutationId: input.clientMutationId, pull, by: c.core.actor };
      }, ['input!']),
      disablePullRequestAutoMerge: field<null>('DisablePullRequestAutoMergePayload', async (_s, args, c) => {
        requireWrite(c);
        const input = (args.input ?? {}) as Record<string, unknown>;
        const pull = pullById(c, input.pullRequestId);
        pull.autoMerge = null;
        return { clientMutationId: input.clientMutationId, pull, by: c.core.actor };
      }, ['input!']),
      mergePullRequest: field<null>('MergePullRequestPayload', async (_s, args, c) => {
        requireWrite(c);
        const input = (args.input ?? {}) as Record<string, unknown>;
        const pull = pullById(c, input.pullRequestId);
        try {
          await mergePull(c.core, pull, {
            method: mergeMethodOf(input.mergeMethod),
            by: c.core.actor,
            ...(typeof input.expectedHeadOid === 'string' ? { sha: input.expectedHeadOid } : {}),
            ...(typeof input.commitHeadline === 'string' ? { commitTitle: input.commitHeadline } : {}),
            ...(typeof input.commitBody === 'string' ? { commitMessage: input.commitBody } : {}),
          });
        } catch (error) {
          if (error instanceof HttpError) throw new FieldError(`Pull request ${error.message}`, 'UNPROCESSABLE');
          throw error;
        }
        return { clientMutationId: input.clientMutationId, pull, by: c.core.actor };
      }, ['input!']),
    },
  },
  Node: { possibleTypes: ['PullRequest', 'Repository'], fields: { id: field<{ nodeId: string }>('ID', (s) => s.nodeId) } },
  Actor: { possibleTypes: ['Bot', 'User', 'Organization'], fields: actorFields() },
  Bot: { fields: actorFields() },
  User: { fields: actorFields() },
  Organization: { fields: actorFields() },
  Repository: {
    fields: {
      id: field<EmulatorCore>('ID', (c) => c.state.nodeId('R', c.state.repoId)),
      name: field<EmulatorCore>('String', (c) => c.settings.repo),
      nameWithOwner: field<EmulatorCore>('String', (c) => `${c.settings.owner}/${c.settings.repo}`),
      url: field<EmulatorCore>('URI', (c) => c.urls.html()),
      isPrivate: field<EmulatorCore>('Boolean', (c) => c.settings.private),
      owner: field<EmulatorCore>('Actor', (c) => actor(c.user(c.settings.owner, c.settings.ownerType))),
      autoMergeAllowed: field<EmulatorCore>('Boolean', (c) => c.settings.allowAutoMerge),
      mergeCommitAllowed: field<EmulatorCore>('Boolean', (c) => c.settings.allowMergeCommit),
      squashMergeAllowed: field<EmulatorCore>('Boolean', (c) => c.settings.allowSquashMerge),
      rebaseMergeAllowed: field<EmulatorCore>('Boolean', (c) => c.settings.allowRebaseMerge),
      deleteBranchOnMerge: field<EmulatorCore>('Boolean', (c) => c.settings.deleteBranchOnMerge),
      defaultBranchRef: field<EmulatorCore>('Ref', async (c) => {
        const sha = await branchSha(c.git, c.settings.defaultBranch);
        return sha ? { name: c.settings.defaultBranch, sha } : null;
      }),
      ref: field<EmulatorCore>('Ref', async (c, args) => {
        const name = String(args.qualifiedName).replace(/^refs\/heads\//, '');
        const sha = await branchSha(c.git, name);
        return sha ? { name, sha } : null;
      }, ['qualifiedName!']),
      pullRequest: field<EmulatorCore>('PullRequest', (c, args) => {
        const pull = c.state.pulls.get(Number(args.number));
        if (!pull) throw new FieldError(`Could not resolve to a PullRequest with the number of ${String(args.number)}.`, 'NOT_FOUND');
        return pull;
      }, ['number!']),
      pullRequests: field<EmulatorCore>('PullRequestConnection', async (c, args) => {
        const pulls = [...c.state.pulls.values()];
        await Promise.all(pulls.map((p) => refreshPull(c, p)));
        const states = Array.isArray(args.states) ? (args.states as string[]) : undefined;
        const labels = Array.isArray(args.labels) ? (args.labels as string[]).map((l) => l.toLowerCase()) : undefined;
        const matching = pulls.filter((p) => {
          const state = p.merged ? 'MERGED' : issueOf(c, p).state === 'open' ? 'OPEN' : 'CLOSED';
          return (!states || states.includes(state))
            && (args.headRefName === undefined || p.headRef === args.headRefName)
            && (args.baseRefName === undefined || p.baseRef === args.baseRefName)
            && (!labels || labels.some((l) => issueOf(c, p).labels.includes(l)));
        });
        return connection(matching.sort((a, b) => a.number - b.number), args);
      }, ['states', 'first', 'last', 'after', 'before', 'headRefName', 'baseRefName', 'labels', 'orderBy']),
      label: field<EmulatorCore>('Label', (c, args) => c.state.label(String(args.name)) ?? null, ['name!']),
      labels: field<EmulatorCore>('LabelConnection', (c, args) => connection([...c.state.labels.values()], args), ['first', 'last', 'after', 'before', 'query', 'orderBy']),
    },
  },
  PullRequest: { fields: pullRequestFields },
  AutoMergeRequest: {
    fields: {
      enabledAt: field<PullRecord>('DateTime', (p) => p.autoMerge?.enabledAt ?? null),
      mergeMethod: field<PullRecord>('PullRequestMergeMethod', (p) => p.autoMerge?.method.toUpperCase() ?? null),
      enabledBy: field<PullRecord>('Actor', (p) => (p.autoMerge ? actor(p.autoMerge.enabledBy) : null)),
      commitHeadline: field<PullRecord>('String', (p) => p.autoMerge?.commitTitle ?? null),
      commitBody: field<PullRecord>('String', (p) => p.autoMerge?.commitMessage ?? null),
      authorEmail: field<PullRecord>('String', () => null),
      pullRequest: field<PullRecord>('PullRequest', (p) => p),
    },
  },
  Label: {
    fields: {
      id: field<LabelRecord>('ID', (l) => l.nodeId),
      name: field<LabelRecord>('String', (l) => l.name),
      color: field<LabelRecord>('String', (l) => l.color),
      description: field<LabelRecord>('String', (l) => l.description),
    },
  },
  Ref: {
    fields: {
      name: field<{ name: string }>('String', (r) => r.name),
      prefix: field<{ name: string }>('String', () => 'refs/heads/'),
      target: field<{ sha: string }>('Commit', (r) => ({ sha: r.sha })),
    },
  },
  Commit: {
    fields: {
      oid: field<{ sha: string }>('GitObjectID', (c) => c.sha),
      abbreviatedOid: field<{ sha: string }>('String', (c) => c.sha.slice(0, 7)),
      url: field<{ sha: string }>('URI', (c, _a, ctx) => ctx.core.urls.html(`/commit/${c.sha}`)),
    },
  },
  PullRequestConnection: connectionType('PullRequest', 'PullRequestEdge'),
  PullRequestEdge: edgeType('PullRequest'),
  LabelConnection: connectionType('Label', 'LabelEdge'),
  LabelEdge: edgeType('Label'),
  PageInfo: {
    fields: {
      hasNextPage: field<Record<string, unknown>>('Boolean', (p) => p.hasNextPage),
      hasPreviousPage: field<Record<string, unknown>>('Boolean', (p) => p.hasPreviousPage),
      startCursor: field<Record<string, unknown>>('String', (p) => p.startCursor),
      endCursor: field<Record<string, unknown>>('String', (p) => p.endCursor),
    },
  },
  EnablePullRequestAutoMergePayload: { fields: payload() },
  DisablePullRequestAutoMergePayload: { fields: payload() },
  MergePullRequestPayload: { fields: payload() },
};

function connectionType(node: string, edge: string): { fields: Record<string, FieldDef<Ctx>> } {
  return {
    fields: {
      totalCount: field<Record<string, unknown>>('Int', (c) => c.totalCount),
      nodes: field<Record<string, unknown>>(node, (c) => c.nodes),
      edges: field<Record<string, unknown>>(edge, (c) => c.edges),
      pageInfo: field<Record<string, unknown>>('PageInfo', (c) => c.pageInfo),
    },
  };
}

function edgeType(node: string): { fields: Record<string, FieldDef<Ctx>> } {
  return {
    fields: {
      node: field<{ node: unknown }>(node, (e) => e.node),
      cursor: field<{ cursor: string }>('String', (e) => e.cursor),
    },
  };
}
