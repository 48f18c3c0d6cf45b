import type { WorkflowTemplate } from '@actions/workflow-parser';
import type { TriggerEvent } from './events.js';

/** GitHub's branch filter patterns: `*` stays within a path segment, `**` crosses them. */
function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${source}$`);
}

function passesBranchFilter(branch: string, filter: { branches?: string[]; 'branches-ignore'?: string[] } | undefined): boolean {
  if (!filter) return true;
  if (filter.branches) return filter.branches.some((p) => globToRegExp(p).test(branch));
  if (filter['branches-ignore']) return !filter['branches-ignore'].some((p) => globToRegExp(p).test(branch));
  return true;
}

/** Why the workflow would not start for this event, or undefined if it would. */
export function whyNotTriggered(template: WorkflowTemplate, event: TriggerEvent): string | undefined {
  const events = template.events;
  if (!(event.name in events)) return `it has no \`on: ${event.name}\``;
  if (event.name === 'push' && event.ref.startsWith('refs/heads/') && !passesBranchFilter(event.ref.slice('refs/heads/'.length), events.push)) {
    return `its push filter does not match ${event.ref}`;
  }
  if (event.name === 'pull_request' && !passesBranchFilter(event.baseRef ?? '', events.pull_request)) return `its pull_request filter does not match base ${event.baseRef}`;
  if (event.name === 'schedule' && !(events.schedule ?? []).some((s) => s.cron === event.payload.schedule)) return `it has no schedule ${String(event.payload.schedule)}`;
  return undefined;
}
