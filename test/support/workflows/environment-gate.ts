import type { TriggerEvent } from './events.js';
import type { Environment } from './types.js';

/** GitHub's deployment branch and tag patterns: `*` within a segment, `**` across them. */
function matches(pattern: string, name: string): boolean {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
}

/**
 * Whether a job may start in its environment: the environment's deployment branch policy (refs other
 * than branches and tags, such as a pull request's merge ref, are refused when there is one), then its
 * required reviewers. Returns why not, or undefined.
 */
export async function environmentRefusal(environment: string, settings: Environment | undefined, event: TriggerEvent, job: string): Promise<string | undefined> {
  if (!settings) return undefined;
  if (settings.deploymentRefs) {
    const ref = event.ref;
    const name = ref.replace(/^refs\/(heads|tags)\//, '');
    const allowed = /^refs\/(heads|tags)\//.test(ref) && settings.deploymentRefs.some((p) => matches(p, name));
    if (!allowed) return `${ref} is not allowed to deploy to ${environment} due to environment protection rules`;
  }
  if (settings.review) {
    const approved = await settings.review({ job, environment, ref: event.ref, sha: event.sha });
    if (!approved) return `a required reviewer of ${environment} rejected the deployment`;
  }
  return undefined;
}
