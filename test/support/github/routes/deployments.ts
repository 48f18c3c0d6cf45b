import { webFlow, type EmulatorCore } from '../core.js';
import { mergeTrees } from '../git/merge.js';
import { readCommit, writeCommit } from '../git/objects.js';
import { branchSha, isAncestor, mergeBase, updateRef } from '../git/refs.js';
import { conflict, errorBody, HttpError, notFound, unprocessable, validationFailed } from '../http-errors.js';
import { paginate } from '../pagination.js';
import { renderDeployment, renderDeploymentStatus } from '../render/deployments.js';
import { latestStatuses } from '../services/statuses.js';
import type { DeploymentRecord, DeploymentState, DeploymentStatusRecord } from '../state.js';
import { resolveCommitish } from './commits.js';
import { intParam, json, type RequestContext, type Reply, type RouteTable } from './types.js';

function findDeployment(ctx: RequestContext): DeploymentRecord {
  const deployment = ctx.core.state.deployments.get(intParam(ctx, 'deployment_id'));
  if (!deployment) throw notFound();
  return deployment;
}

function statusesOf(core: EmulatorCore, id: number): DeploymentStatusRecord[] {
  let list = core.state.deploymentStatuses.get(id);
  if (!list) {
    list = [];
    core.state.deploymentStatuses.set(id, list);
  }
  return list;
}

/**
 * GitHub's `auto_merge`: a branch behind the default branch gets the default branch merged in
 * first; the deployment is then not created (202) and the caller deploys the new head.
 */
async function autoMergeDefaultBranch(core: EmulatorCore, ref: string): Promise<Reply | undefined> {
  const main = core.settings.defaultBranch;
  const [branch, mainSha] = await Promise.all([branchSha(core.git, ref), branchSha(core.git, main)]);
  if (!branch || !mainSha || ref === main || (await isAncestor(core.git, mainSha, branch))) return undefined;
  const mb = await mergeBase(core.git, branch, mainSha);
  const [mbCommit, ours, theirs] = await Promise.all([mb ? readCommit(core.git, mb) : undefined, readCommit(core.git, branch), readCommit(core.git, mainSha)]);
  const merged = await mergeTrees(core.git, mbCommit?.tree, ours.tree, theirs.tree);
  if (!merged.clean) throw conflict(`Conflict merging ${main} into ${ref}.`);
  const now = core.timestamp();
  const message = `Auto-merged ${main} into ${ref} on deployment.`;
  const sha = await writeCommit(core.git, { tree: merged.tree, parents: [branch, mainSha], message, author: { name: core.actor.name, email: core.actor.email, date: now }, committer: { ...webFlow, date: now } });
  core.state.signedCommits.add(sha);
  if (!(await updateRef(core.git, `refs/heads/${ref}`, sha, branch))) throw conflict(`Conflict merging ${main} into ${ref}.`);
  return json(202, { message });
}

/** Contexts that block a deployment: every listed one (or, when unspecified, every one) not `success`. */
function failedContexts(core: EmulatorCore, sha: string, required: string[] | undefined): string[] {
  const latest = latestStatuses(core, sha);
  if (required === undefined) return latest.filter((s) => s.state !== 'success').map((s) => s.context);
  return required.filter((context) => latest.find((s) => s.context === context)?.state !== 'success');
}

export const deploymentRoutes: RouteTable = {
  'repos/create-deployment': {
    permission: { deployments: 'write' },
    handle: async ({ core, body }) => {
      const input = body as {
        ref: string; task?: string; auto_merge?: boolean; required_contexts?: string[]; payload?: Record<string, unknown> | string;
        environment?: string; description?: string | null; transient_environment?: boolean; production_environment?: boolean;
      };
      if (!(await resolveCommitish(core, input.ref))) throw new HttpError(422, errorBody(422, `No ref found for: ${input.ref}`));
      if (input.auto_merge !== false) {
        const merged = await autoMergeDefaultBranch(core, input.ref);
        if (merged) return merged;
      }
      const sha = (await resolveCommitish(core, input.ref)) as string;
      const failed = failedContexts(core, sha, input.required_contexts);
      if (failed.length > 0) {
        throw new HttpError(409, errorBody(409, `Conflict: Commit status checks failed for ${input.ref}.`, { errors: [{ contexts: failed.map((context) => ({ context, state: 'failure' })), resource: 'Deployment', field: 'required_contexts', code: 'invalid' }] }));
      }
      let payload: Record<string, unknown> | string = input.payload ?? {};
      if (typeof payload === 'string') {
        // GitHub stores a JSON string payload as the object it encodes.
        try {
          const parsed: unknown = JSON.parse(payload);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) payload = parsed as Record<string, unknown>;
        } catch {
          // Not JSON: kept as the string it is.
        }
      }
      const environment = input.environment ?? 'production';
      const now = core.timestamp();
      const id = core.state.nextId();
      const deployment: DeploymentRecord = {
        id, nodeId: core.state.nodeId('DE', id), sha, ref: input.ref, task: input.task ?? 'deploy', payload, environment, originalEnvironment: environment,
        description: input.description ?? '', creator: core.actor, createdAt: now, updatedAt: now,
        transientEnvironment: input.transient_environment ?? false, productionEnvironment: input.production_environment ?? environment === 'production',
      };
      core.state.deployments.set(id, deployment);
      return json(201, renderDeployment(core, deployment), { location: core.urls.repo(`/deployments/${id}`) });
    },
  },

  'repos/list-deployments': {
    permission: { deployments: 'read' },
    handle: async (ctx) => {
      const { core, query } = ctx;
      const list = [...core.state.deployments.values()]
        .filter((d) => (query.sha === undefined || d.sha === query.sha) && (query.ref === undefined || d.ref === query.ref) && (query.task === undefined || d.task === query.task) && (query.environment === undefined || query.environment === null || d.environment === query.environment))
        .sort((a, b) => b.id - a.id);
      const { page, headers } = paginate(list, query, ctx.url.href);
      return json(200, page.map((d) => renderDeployment(core, d)), headers);
    },
  },

  'repos/get-deployment': {
    permission: { deployments: 'read' },
    handle: async (ctx) => json(200, renderDeployment(ctx.core, findDeployment(ctx))),
  },

  'repos/delete-deployment': {
    permission: { deployments: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const deployment = findDeployment(ctx);
      const latest = statusesOf(core, deployment.id).at(-1);
      const others = [...core.state.deployments.values()].filter((d) => d.id !== deployment.id && d.environment === deployment.environment);
      if (latest?.state !== 'inactive' && others.length > 0) {
        throw validationFailed({ resource: 'Deployment', code: 'custom', message: 'We cannot delete an active deployment unless it is the only deployment in a given environment.' });
      }
      core.state.deployments.delete(deployment.id);
      core.state.deploymentStatuses.delete(deployment.id);
      return json(204);
    },
  },

  'repos/create-deployment-status': {
    permission: { deployments: 'write' },
    handle: async (ctx) => {
      const { core } = ctx;
      const deployment = findDeployment(ctx);
      const input = ctx.body as { state: DeploymentState; target_url?: string; log_url?: string; description?: string; environment?: string; environment_url?: string; auto_inactive?: boolean };
      const description = input.description ?? '';
      if (description.length > 140) throw unprocessable('description is too long (maximum is 140 characters)');
      if (input.environment !== undefined) deployment.environment = input.environment;
      const now = core.timestamp();
      const create = (target: DeploymentRecord, state: DeploymentState, fields: Partial<DeploymentStatusRecord> = {}): DeploymentStatusRecord => {
        const id = core.state.nextId();
        const status: DeploymentStatusRecord = {
          id, nodeId: core.state.nodeId('DES', id), deploymentId: target.id, state, description: '', environment: target.environment,
          environmentUrl: '', logUrl: '', creator: core.actor, createdAt: now, updatedAt: now, ...fields,
        };
        statusesOf(core, target.id).push(status);
        target.updatedAt = now;
        return status;
      };
      const status = create(deployment, input.state, { description, environmentUrl: input.environment_url ?? '', logUrl: input.log_url ?? input.target_url ?? '' });
      if (input.state === 'success' && input.auto_inactive !== false) {
        // GitHub marks earlier successful deployments to the same environment inactive, except
        // transient and production ones.
        for (const other of core.state.deployments.values()) {
          if (other.id >= deployment.id || other.environment !== deployment.environment || other.transientEnvironment || other.productionEnvironment) continue;
          const history = statusesOf(core, other.id);
          if (history.some((s) => s.state === 'success') && history.at(-1)?.state !== 'inactive') create(other, 'inactive');
        }
      }
      return json(201, renderDeploymentStatus(core, status), { location: core.urls.repo(`/deployments/${deployment.id}/statuses/${status.id}`) });
    },
  },

  'repos/list-deployment-statuses': {
    permission: { deployments: 'read' },
    handle: async (ctx) => {
      const deployment = findDeployment(ctx);
      const list = [...statusesOf(ctx.core, deployment.id)].reverse();
      const { page, headers } = paginate(list, ctx.query, ctx.url.href);
      return json(200, page.map((s) => renderDeploymentStatus(ctx.core, s)), headers);
    },
  },

  'repos/get-deployment-status': {
    permission: { deployments: 'read' },
    handle: async (ctx) => {
      const deployment = findDeployment(ctx);
      const status = statusesOf(ctx.core, deployment.id).find((s) => s.id === intParam(ctx, 'status_id'));
      if (!status) throw notFound();
      return json(200, renderDeploymentStatus(ctx.core, status));
    },
  },
};
