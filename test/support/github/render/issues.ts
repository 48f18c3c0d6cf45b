import type { EmulatorCore } from '../core.js';
import type { CommentRecord, IssueRecord, LabelRecord, UserRecord } from '../state.js';
import { renderUser } from './users.js';

export function authorAssociation(core: EmulatorCore, user: UserRecord): string {
  if (user.login.toLowerCase() === core.settings.owner.toLowerCase()) return 'OWNER';
  if (core.settings.collaborators?.some((c) => c.toLowerCase() === user.login.toLowerCase())) return 'COLLABORATOR';
  return 'NONE';
}

/** `label`. */
export function renderLabel(core: EmulatorCore, label: LabelRecord): Record<string, unknown> {
  return {
    id: label.id,
    node_id: label.nodeId,
    url: core.urls.repo(`/labels/${encodeURIComponent(label.name)}`),
    name: label.name,
    color: label.color,
    description: label.description,
    default: label.default,
  };
}

export function issueLabels(core: EmulatorCore, issue: IssueRecord): Record<string, unknown>[] {
  return issue.labels.flatMap((key) => {
    const label = core.state.labels.get(key);
    return label ? [renderLabel(core, label)] : [];
  });
}

export function htmlPathOf(issue: IssueRecord): string {
  return `/${issue.isPullRequest ? 'pull' : 'issues'}/${issue.number}`;
}

function commentCount(core: EmulatorCore, issue: IssueRecord): number {
  return [...core.state.comments.values()].filter((c) => c.issueNumber === issue.number).length;
}

/** `issue`; pull requests carry the `pull_request` key, as in GitHub's issue listings. */
export function renderIssue(core: EmulatorCore, issue: IssueRecord): Record<string, unknown> {
  const r = (suffix: string): string => core.urls.repo(`/issues/${issue.number}${suffix}`);
  const pull = core.state.pulls.get(issue.number);
  const out: Record<string, unknown> = {
    id: issue.id,
    node_id: issue.nodeId,
    url: r(''),
    repository_url: core.urls.repo(),
    labels_url: r('/labels{/name}'),
    comments_url: r('/comments'),
    events_url: r('/events'),
    html_url: core.urls.html(htmlPathOf(issue)),
    timeline_url: r('/timeline'),
    number: issue.number,
    state: issue.state,
    state_reason: issue.stateReason,
    title: issue.title,
    body: issue.body,
    user: renderUser(core, issue.user),
    labels: issueLabels(core, issue),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: issue.locked,
    active_lock_reason: null,
    comments: commentCount(core, issue),
    closed_at: issue.closedAt,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_by: issue.closedBy ? renderUser(core, issue.closedBy) : null,
    author_association: authorAssociation(core, issue.user),
  };
  if (pull) {
    out.draft = pull.draft;
    out.pull_request = {
      url: core.urls.repo(`/pulls/${issue.number}`),
      html_url: core.urls.html(`/pull/${issue.number}`),
      diff_url: core.urls.html(`/pull/${issue.number}.diff`),
      patch_url: core.urls.html(`/pull/${issue.number}.patch`),
      merged_at: pull.mergedAt,
    };
  }
  return out;
}

/** `issue-comment`. */
export function renderComment(core: EmulatorCore, comment: CommentRecord): Record<string, unknown> {
  const issue = core.state.issues.get(comment.issueNumber);
  return {
    id: comment.id,
    node_id: comment.nodeId,
    url: core.urls.repo(`/issues/comments/${comment.id}`),
    html_url: core.urls.html(`${issue ? htmlPathOf(issue) : `/issues/${comment.issueNumber}`}#issuecomment-${comment.id}`),
    issue_url: core.urls.repo(`/issues/${comment.issueNumber}`),
    body: comment.body,
    user: renderUser(core, comment.user),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: authorAssociation(core, comment.user),
  };
}
