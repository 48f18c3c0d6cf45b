import type { EmulatorCore } from '../core.js';
import type { CommitState, CommitStatusRecord } from '../state.js';

/** The newest status of each context on a commit (GitHub's combined status), newest first. */
export function latestStatuses(core: EmulatorCore, sha: string): CommitStatusRecord[] {
  const byContext = new Map<string, CommitStatusRecord>();
  for (const status of core.state.commitStatuses) {
    if (status.sha !== sha) continue;
    const seen = byContext.get(status.context);
    if (!seen || seen.id < status.id) byContext.set(status.context, status);
  }
  return [...byContext.values()].sort((a, b) => b.id - a.id);
}

/** failure/error beats pending beats success; no statuses at all is `pending`, as GitHub says. */
export function combinedState(statuses: readonly CommitStatusRecord[]): CommitState {
  if (statuses.some((s) => s.state === 'failure' || s.state === 'error')) return 'failure';
  if (statuses.length === 0 || statuses.some((s) => s.state === 'pending')) return 'pending';
  return 'success';
}

export type RequiredCheckProblem = { context: string; problem: 'expected' | 'failing' | 'pending' };

/** The first required status context on `branch` that is not `success` on `sha`. */
export function unmetRequiredCheck(core: EmulatorCore, branch: string, sha: string): RequiredCheckProblem | undefined {
  const required = core.protectionOf(branch)?.requiredStatusChecks ?? [];
  const latest = latestStatuses(core, sha);
  for (const context of required) {
    const status = latest.find((s) => s.context === context);
    if (!status) return { context, problem: 'expected' };
    if (status.state === 'pending') return { context, problem: 'pending' };
    if (status.state !== 'success') return { context, problem: 'failing' };
  }
  return undefined;
}
