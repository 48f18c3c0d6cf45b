import type { EmulatorCore } from '../core.js';
import { errorBody, HttpError, notFound, validationFailed } from '../http-errors.js';
import { paginate } from '../pagination.js';
import type { PermissionRequirement } from '../permissions.js';
import { issueLabels, renderComment, renderIssue, renderLabel } from '../render/issues.js';
import { refreshPull } from '../services/pulls.js';
import type { CommentRecord, IssueRecord, LabelRecord } from '../state.js';
import { intParam, json, stringParam, type RequestContext, type RouteTable } from './types.js';

/** Issue and label writes are allowed with either issues or pull-requests write, as on GitHub. */
const write: PermissionRequirement = { issues: 'write', pullRequests: 'write' };
const read: PermissionRequirement = { issues: 'read', pullRequests: 'read' };

type LabelInput = string | { name: string };

function findIssue(ctx: RequestContext): IssueRecord {
  const issue = ctx.core.state.issues.get(intParam(ctx, 'issue_number'));
  if (!issue) throw notFound();
  return issue;
}

function findLabel(ctx: RequestContext): LabelRecord {
  const label = ctx.core.state.label(stringParam(ctx, 'name'));
  if (!label) throw notFound();
  return label;
}

function createLabel(core: EmulatorCore, name: string, color = 'ededed', description: string | null = null): LabelRecord {
  const id = core.state.nextId();
  const label: LabelRecord = { id, nodeId: core.state.nodeId('LA', id), name, color, description, default: false };
  core.state.labels.set(name.toLowerCase(), label);
  return label;
}

/** Label names from a request; labels that do not exist yet are created, as GitHub does. */
function labelKeys(core: EmulatorCore, inputs: readonly LabelInput[]): string[] {
  return inputs.map((input) => {
    const name = typeof input === 'string' ? input : input.name;
    const label = core.state.label(name) ?? createLabel(core, name);
    return label.name.toLowerCase();
  });
}

function labelsBody(body: unknown): LabelInput[] {
  if (Array.isArray(body)) return body as LabelInput[];
  return ((body as { labels?: LabelInput[] } | undefined)?.labels ?? []);
}

function validColor(color: string | undefined): void {
  if (color !== undefined && !/^[0-9a-fA-F]{6}$/.test(color)) throw validationFailed({ resource: 'Label', code: 'invalid', field: 'color' });
}

function setState(core: EmulatorCore, issue: IssueRecord, state: 'open' | 'closed', reason?: string | null): void {
  const now = core.timestamp();
  if (state === 'closed' && issue.state === 'open') {
    issue.state = 'closed';
    issue.closedAt = now;
    issue.closedBy = core.actor;
    issue.stateReason = issue.isPullRequest ? null : ((reason as IssueRecord['stateReason']) ?? 'completed');
    const pull = core.state.pulls.get(issue.number);
    if (pull) pull.autoMerge = null;
  } else if (state === 'open' && issue.state === 'closed') {
    const pull = core.state.pulls.get(issue.number);
    if (pull?.merged) throw validationFailed({ resource: 'Issue', code: 'custom', field: 'state', message: 'state cannot be changed. The pull request has already been merged.' });
    issue.state = 'open';
    issue.closedAt = null;
    issue.closedBy = null;
    issue.stateReason = 'reopened';
  }
}

function matchesFilters(core: EmulatorCore, issue: IssueRecord, query: Record<string, unknown>): boolean {
  const state = String(query.state ?? 'open');
  if (state !== 'all' && issue.state !== state) return false;
  if (typeof query.labels === 'string' && query.labels !== '') {
    const wanted = query.labels.split(',').map((l) => l.trim().toLowerCase()).filter(Boolean);
    if (!wanted.every((l) => issue.labels.includes(l))) return false;
  }
  if (typeof query.creator === 'string' && issue.user.login.toLowerCase() !== query.creator.toLowerCase()) return false;
  if (typeof query.since === 'string' && issue.updatedAt < query.since) return false;
  if (query.assignee !== undefined && query.assignee !== '*' && query.assignee !== 'none') return false;
  return core.state.issues.has(issue.number);
}

async function refreshIfPull(core: EmulatorCore, issue: IssueRecord): Promise<void> {
  const pull = core.state.pulls.get(issue.number);
  if (pull) await refreshPull(core, pull);
}

export const issueRoutes: RouteTable = {
  'issues/list-for-repo': {
    permission: read,
    handle: async (ctx) => {
      const { core, query } = ctx;
      await Promise.all([...core.state.pulls.values()].map((p) => refreshPull(core, p)));
      const sort = String(query.sort ?? 'created');
      const direction = String(query.direction ?? 'desc');
      const issues = [...core.state.issues.values()]
        .filter((i) => matchesFilters(core, i, query))
        .sort((a, b) => {
          const key = (i: IssueRecord): string | number => (sort === 'updated' ? i.updatedAt : sort === 'comments' ? [...core.state.comments.values()].filter((c) => c.issueNumber === i.number).length : i.number);
          const [ka, kb] = [key(a), key(b)];
          const order = ka < kb ? -1 : ka > kb ? 1 : a.number - b.number;
          return direction === 'asc' ? order : -order;
        });
      const { page, headers } = paginate(issues, query, ctx.url.href);
      return json(200, page.map((i) => renderIssue(core, i)), headers);
    },
  },

  'issues/create': {
    permission: { issues: 'write' },
    handle: async ({ core, body }) => {
      const input = body as { title: string | number; body?: string; labels?: LabelInput[] };
      const now = core.timestamp();
      const number = core.state.nextIssueNumber++;
      const id = core.state.nextId();
      const issue: IssueRecord = {
        id, nodeId: core.state.nodeId('I', id), number, title: String(input.title), body: input.body ?? null, state: 'open', stateReason: null,
        labels: labelKeys(core, input.labels ?? []), user: core.actor, createdAt: now, updatedAt: now, closedAt: null, closedBy: null, locked: false, isPullRequest: false,
      };
      core.state.issues.set(number, issue);
      return json(201, renderIssue(core, issue), { location: core.urls.repo(`/issues/${number}`) });
    },
  },

  'issues/get': {
    permission: read,
    handle: async (ctx) => {
      const issue = findIssue(ctx);
      await refreshIfPull(ctx.core, issue);
      return json(200, renderIssue(ctx.core, issue));
    },
  },

  'issues/update': {
    permission: write,
    handle: async (ctx) => {
      const { core } = ctx;
      const issue = findIssue(ctx);
      await refreshIfPull(core, issue);
      const input = ctx.body as { title?: string | number | null; body?: string | null; state?: 'open' | 'closed'; state_reason?: string | null; labels?: LabelInput[] };
      if (input.title !== undefined && input.title !== null) issue.title = String(input.title);
      if (input.body !== undefined) issue.body = input.body;
      if (input.labels !== undefined) issue.labels = [...new Set(labelKeys(core, input.labels))];
      if (input.state !== undefined) setState(core, issue, input.state, input.state_reason);
      issue.updatedAt = core.timestamp();
      return json(200, renderIssue(core, issue));
    },
  },

  'issues/list-labels-on-issue': {
    permission: read,
    handle: async (ctx) => {
      const { page, headers } = paginate(issueLabels(ctx.core, findIssue(ctx)), ctx.query, ctx.url.href);
      return json(200, page, headers);
    },
  },

  'issues/add-labels': {
    permission: write,
    handle: async (ctx) => {
      const issue = findIssue(ctx);
      for (const key of labelKeys(ctx.core, labelsBody(ctx.body))) if (!issue.labels.includes(key)) issue.labels.push(key);
      issue.updatedAt = ctx.core.timestamp();
      return json(200, issueLabels(ctx.core, issue));
    },
  },

  'issues/set-labels': {
    permission: write,
    handle: async (ctx) => {
      const issue = findIssue(ctx);
      issue.labels = [...new Set(labelKeys(ctx.core, labelsBody(ctx.body)))];
      issue.updatedAt = ctx.core.timestamp();
      return json(200, issueLabels(ctx.core, issue));
    },
  },

  'issues/remove-label': {
    permission: write,
    handle: async (ctx) => {
      const issue = findIssue(ctx);
      const key = stringParam(ctx, 'name').toLowerCase();
      if (!issue.labels.includes(key)) throw new HttpError(404, errorBody(404, 'Label does not exist'));
      issue.labels = issue.labels.filter((l) => l !== key);
      issue.updatedAt = ctx.core.timestamp();
      return json(200, issueLabels(ctx.core, issue));
    },
  },

  'issues/list-labels-for-repo': {
    permission: read,
    handle: async (ctx) => {
      const labels = [...ctx.core.state.labels.values()].sort((a, b) => a.id - b.id).map((l) => renderLabel(ctx.core, l));
      const { page, headers } = paginate(labels, ctx.query, ctx.url.href);
      return json(200, page, headers);
    },
  },

  'issues/create-label': {
    permission: write,
    handle: async ({ core, body }) => {
      const input = body as { name: string; color?: string; description?: string };
      validColor(input.color);
      if (core.state.label(input.name)) throw validationFailed({ resource: 'Label', code: 'already_exists', field: 'name' });
      const label = createLabel(core, input.name, (input.color ?? 'ededed').toLowerCase(), input.description ?? null);
      return json(201, renderLabel(core, label), { location: core.urls.repo(`/labels/${encodeURIComponent(label.name)}`) });
    },
  },

  'issues/get-label': {
    permission: read,
    handle: async (ctx) => json(200, renderLabel(ctx.core, findLabel(ctx))),
  },

  'issues/update-label': {
    permission: write,
    handle: async (ctx) => {
      const { core } = ctx;
      const label = findLabel(ctx);
      const input = ctx.body as { new_name?: string; color?: string; description?: string };
      validColor(input.color);
      const newName = input.new_name;
      if (newName !== undefined && newName.toLowerCase() !== label.name.toLowerCase()) {
        if (core.state.label(newName)) throw validationFailed({ resource: 'Label', code: 'already_exists', field: 'name' });
        const oldKey = label.name.toLowerCase();
        const newKey = newName.toLowerCase();
        core.state.labels.delete(oldKey);
        core.state.labels.set(newKey, label);
        for (const issue of core.state.issues.values()) issue.labels = issue.labels.map((k) => (k === oldKey ? newKey : k));
      }
      if (input.new_name !== undefined) label.name = input.new_name;
      if (input.color !== undefined) label.color = input.color.toLowerCase();
      if (input.description !== undefined) label.description = input.description;
      return json(200, renderLabel(core, label));
    },
  },

  'issues/delete-label': {
    permission: write,
    handle: async (ctx) => {
      const label = findLabel(ctx);
      const key = label.name.toLowerCase();
      ctx.core.state.labels.delete(key);
      for (const issue of ctx.core.state.issues.values()) issue.labels = issue.labels.filter((k) => k !== key);
      return json(204);
    },
  },

  'issues/create-comment': {
    permission: write,
    handle: async (ctx) => {
      const { core } = ctx;
      const issue = findIssue(ctx);
      const now = core.timestamp();
      const id = core.state.nextId();
      const comment: CommentRecord = { id, nodeId: core.state.nodeId('IC', id), issueNumber: issue.number, body: (ctx.body as { body: string }).body, user: core.actor, createdAt: now, updatedAt: now };
      core.state.comments.set(id, comment);
      issue.updatedAt = now;
      return json(201, renderComment(core, comment), { location: core.urls.repo(`/issues/comments/${id}`) });
    },
  },

  'issues/list-comments': {
    permission: read,
    handle: async (ctx) => {
      const issue = findIssue(ctx);
      const since = typeof ctx.query.since === 'string' ? ctx.query.since : undefined;
      const comments = [...ctx.core.state.comments.values()].filter((c) => c.issueNumber === issue.number && (!since || c.updatedAt >= since)).sort((a, b) => a.id - b.id);
      const { page, headers } = paginate(comments, ctx.query, ctx.url.href);
      return json(200, page.map((c) => renderComment(ctx.core, c)), headers);
    },
  },

  'issues/get-comment': {
    permission: read,
    handle: async (ctx) => {
      const comment = ctx.core.state.comments.get(intParam(ctx, 'comment_id'));
      if (!comment) throw notFound();
      return json(200, renderComment(ctx.core, comment));
    },
  },

  'issues/update-comment': {
    permission: write,
    handle: async (ctx) => {
      const comment = ctx.core.state.comments.get(intParam(ctx, 'comment_id'));
      if (!comment) throw notFound();
      comment.body = (ctx.body as { body: string }).body;
      comment.updatedAt = ctx.core.timestamp();
      return json(200, renderComment(ctx.core, comment));
    },
  },

  'issues/delete-comment': {
    permission: write,
    handle: async (ctx) => {
      const id = intParam(ctx, 'comment_id');
      if (!ctx.core.state.comments.delete(id)) throw notFound();
      return json(204);
    },
  },
};
