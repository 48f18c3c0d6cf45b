import type { GitHubClient, RepoRef } from './client.js';
import { githubErrorMessage } from './errors.js';

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface DeploymentRequest {
  ref: string;
  environment: string;
  /** Hosts and their system paths: what this deployment puts where. */
  payload: { hosts: Record<string, string>; action: string };
  description: string;
  productionEnvironment: boolean;
}

/**
 * One GitHub deployment per environment per run, so the repository's Environments page shows
 * what runs where. Failures to record it warn; they never stop the rollout itself.
 */
export class DeploymentRecord {
  private constructor(
    private readonly client: GitHubClient,
    private readonly repo: RepoRef,
    readonly id: number | undefined,
    private readonly logUrl: string,
  ) {}

  static async create(client: GitHubClient, repo: RepoRef, request: DeploymentRequest, logUrl: string): Promise<DeploymentRecord> {
    try {
      const { data } = await client.octokit.rest.repos.createDeployment({
        ...repo,
        ref: request.ref,
        environment: request.environment,
        payload: request.payload,
        description: request.description.slice(0, 140),
        auto_merge: false,
        required_contexts: [],
        production_environment: request.productionEnvironment,
        transient_environment: false,
      });
      const id = 'id' in data ? data.id : undefined;
      if (id === undefined) client.log.warning(`GitHub did not create a deployment: ${'message' in data ? data.message : 'no id returned'}`);
      return new DeploymentRecord(client, repo, id, logUrl);
    } catch (error) {
      client.log.warning(`could not create a GitHub deployment for ${request.environment} (${githubErrorMessage(error)}); the rollout goes on without it. Give the job \`permissions: deployments: write\`.`);
      return new DeploymentRecord(client, repo, undefined, logUrl);
    }
  }

  async status(state: DeploymentState, description: string): Promise<void> {
    if (this.id === undefined) return;
    try {
      await this.client.octokit.rest.repos.createDeploymentStatus({
        ...this.repo,
        deployment_id: this.id,
        state,
        log_url: this.logUrl,
        description: description.slice(0, 140),
        auto_inactive: state === 'success',
      });
    } catch (error) {
      this.client.log.warning(`could not set the GitHub deployment status to ${state}: ${githubErrorMessage(error)}`);
    }
  }
}
