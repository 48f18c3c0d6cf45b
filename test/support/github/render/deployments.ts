import type { EmulatorCore } from '../core.js';
import type { DeploymentRecord, DeploymentStatusRecord } from '../state.js';
import { renderUser } from './users.js';

/** `deployment`. */
export function renderDeployment(core: EmulatorCore, d: DeploymentRecord): Record<string, unknown> {
  return {
    url: core.urls.repo(`/deployments/${d.id}`),
    id: d.id,
    node_id: d.nodeId,
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.originalEnvironment,
    environment: d.environment,
    description: d.description,
    creator: renderUser(core, d.creator),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    statuses_url: core.urls.repo(`/deployments/${d.id}/statuses`),
    repository_url: core.urls.repo(),
    transient_environment: d.transientEnvironment,
    production_environment: d.productionEnvironment,
    performed_via_github_app: null,
  };
}

/** `deployment-status`. */
export function renderDeploymentStatus(core: EmulatorCore, s: DeploymentStatusRecord): Record<string, unknown> {
  return {
    url: core.urls.repo(`/deployments/${s.deploymentId}/statuses/${s.id}`),
    id: s.id,
    node_id: s.nodeId,
    state: s.state,
    creator: renderUser(core, s.creator),
    description: s.description,
    environment: s.environment,
    // GitHub keeps the deprecated target_url equal to log_url.
    target_url: s.logUrl,
    log_url: s.logUrl,
    environment_url: s.environmentUrl,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    deployment_url: core.urls.repo(`/deployments/${s.deploymentId}`),
    repository_url: core.urls.repo(),
    performed_via_github_app: null,
  };
}
