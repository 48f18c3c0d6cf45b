import type { EmulatorCore } from '../core.js';
import type { CommitStatusRecord } from '../state.js';
import { renderUser } from './users.js';

/** `status` (and `simple-commit-status`, a subset of it). */
export function renderCommitStatus(core: EmulatorCore, s: CommitStatusRecord): Record<string, unknown> {
  return {
    url: core.urls.repo(`/statuses/${s.sha}`),
    avatar_url: `https://avatars.githubusercontent.com/u/${s.creator.id}?v=4`,
    id: s.id,
    node_id: s.nodeId,
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    creator: renderUser(core, s.creator),
  };
}

/** `simple-commit-status` (inside a combined status): no creator. */
export function renderSimpleCommitStatus(core: EmulatorCore, s: CommitStatusRecord): Record<string, unknown> {
  const { creator: _creator, ...rest } = renderCommitStatus(core, s);
  return rest;
}
