import type { EmulatorCore } from '../core.js';
import type { PullFacts } from '../services/pulls.js';
import { issueOf } from '../services/pulls.js';
import type { PullRecord } from '../state.js';
import { authorAssociation, issueLabels } from './issues.js';
import { renderRepository } from './repository.js';
import { renderTeam, renderUser } from './users.js';

function renderAutoMerge(core: EmulatorCore, pull: PullRecord): Record<string, unknown> | null {
  const auto = pull.autoMerge;
  if (!auto) return null;
  return { enabled_by: renderUser(core, auto.enabledBy), merge_method: auto.method, commit_title: auto.commitTitle ?? '', commit_message: auto.commitMessage ?? '' };
}

/** `pull-request-simple` (listings); `renderPull` adds the detail fields of `pull-request`. */
export function renderPullSimple(core: EmulatorCore, pull: PullRecord): Record<string, unknown> {
  const issue = issueOf(core, pull);
  const owner = core.user(core.settings.owner, core.settings.ownerType);
  const repository = renderRepository(core, 'repository');
  const api = (suffix: string): string => core.urls.repo(suffix);
  const n = pull.number;
  const side = (ref: string, sha: string): Record<string, unknown> => ({
    label: `${core.settings.owner}:${ref}`,
    ref,
    sha,
    user: renderUser(core, owner),
    repo: repository,
  });
  const links = {
    self: { href: api(`/pulls/${n}`) },
    html: { href: core.urls.html(`/pull/${n}`) },
    issue: { href: api(`/issues/${n}`) },
    comments: { href: api(`/issues/${n}/comments`) },
    review_comments: { href: api(`/pulls/${n}/comments`) },
    review_comment: { href: api('/pulls/comments{/number}') },
    commits: { href: api(`/pulls/${n}/commits`) },
    statuses: { href: api(`/statuses/${pull.headSha}`) },
  };
  return {
    url: api(`/pulls/${n}`),
    id: pull.id,
    node_id: pull.nodeId,
    html_url: core.urls.html(`/pull/${n}`),
    diff_url: core.urls.html(`/pull/${n}.diff`),
    patch_url: core.urls.html(`/pull/${n}.patch`),
    issue_url: api(`/issues/${n}`),
    commits_url: api(`/pulls/${n}/commits`),
    review_comments_url: api(`/pulls/${n}/comments`),
    review_comment_url: api('/pulls/comments{/number}'),
    comments_url: api(`/issues/${n}/comments`),
    statuses_url: api(`/statuses/${pull.headSha}`),
    number: n,
    state: issue.state,
    locked: issue.locked,
    title: issue.title,
    user: renderUser(core, issue.user),
    body: issue.body,
    labels: issueLabels(core, issue),
    milestone: null,
    active_lock_reason: null,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: pull.requestedReviewers.map((login) => renderUser(core, core.user(login))),
    requested_teams: pull.requestedTeams.map((slug) => renderTeam(core, slug)),
    head: side(pull.headRef, pull.headSha),
    base: side(pull.baseRef, pull.baseSha),
    _links: links,
    author_association: authorAssociation(core, issue.user),
    auto_merge: renderAutoMerge(core, pull),
    draft: pull.draft,
  };
}

/** `pull-request`. */
export function renderPull(core: EmulatorCore, pull: PullRecord, facts: PullFacts): Record<string, unknown> {
  const issue = issueOf(core, pull);
  return {
    ...renderPullSimple(core, pull),
    merged: pull.merged,
    mergeable: facts.mergeable,
    rebaseable: facts.mergeable,
    mergeable_state: facts.mergeableState,
    merged_by: pull.mergedBy ? renderUser(core, pull.mergedBy) : null,
    comments: [...core.state.comments.values()].filter((c) => c.issueNumber === issue.number).length,
    review_comments: 0,
    maintainer_can_modify: pull.maintainerCanModify,
    commits: facts.commits,
    additions: facts.additions,
    deletions: facts.deletions,
    changed_files: facts.changedFiles,
  };
}
