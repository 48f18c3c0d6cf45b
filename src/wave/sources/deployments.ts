import type { GitHubClient, RepoRef } from '../../github/client.js';
import type { HostStatusReport } from '../../fleet/status.js';
import type { Clock } from '../../util/async.js';

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+$/;

/**
 * The host → system path a deployment's payload names. action-deploy writes `{ hosts: { web1:
 * "/nix/store/…" } }`; arrays of `{ host, path }` and `store-paths`/`storePaths` objects are read
 * too. Anything else names no host.
 */
export function payloadSystems(payload: unknown): Map<string, string> {
  const systems = new Map<string, string>();
  if (typeof payload === 'string') {
    try {
      return payloadSystems(JSON.parse(payload));
    } catch {
      return systems;
    }
  }
  if (typeof payload !== 'object' || payload === null) return systems;
  const record = payload as Record<string, unknown>;
  for (const candidate of [record.hosts, record['store-paths'], record.storePaths]) {
    if (Array.isArray(candidate)) {
      for (const item of candidate) {
        if (typeof item !== 'object' || item === null) continue;
        const entry = item as Record<string, unknown>;
        const host = entry.host ?? entry.name;
        const path = entry.path ?? entry.storePath ?? entry.after;
        if (typeof host === 'string' && typeof path === 'string' && STORE_PATH.test(path)) systems.set(host, path);
      }
    } else if (typeof candidate === 'object' && candidate !== null) {
      for (const [host, value] of Object.entries(candidate)) {
        const path = typeof value === 'string' ? value : (value as Record<string, unknown> | null)?.path;
        if (typeof path === 'string' && STORE_PATH.test(path)) systems.set(host, path);
      }
    }
  }
  return systems;
}

/**
 * Reports from GitHub deployments: for each host, the newest deployment naming it that finished.
 * `success` means the host runs that path since the status was set; `failure`/`error` is reported
 * as a failed run (with the path of the last successful deployment, when there was one). GitHub
 * is always reachable, so these reports are dated now; deployments can not see a host that fell
 * back by itself, which the cache reports of the pull agent can.
 */
export async function deploymentReports(
  client: GitHubClient,
  repo: RepoRef,
  hosts: readonly { name: string; environment: string }[],
  options: { clock: Clock; perEnvironment?: number },
): Promise<{ reports: Map<string, HostStatusReport>; problems: { key: string; message: string }[] }> {
  const now = options.clock.now();
  const wanted = new Set(hosts.map((h) => h.name));
  const reports = new Map<string, HostStatusReport>();
  const failures = new Map<string, { message: string; path: string; at: Date }>();
  const environments = [...new Set(hosts.map((h) => h.environment))];
  for (const environment of environments) {
    const { data: deployments } = await client.octokit.rest.repos.listDeployments({ ...repo, environment, per_page: options.perEnvironment ?? 50 });
    // Newest first, as GitHub lists them.
    for (const deployment of deployments) {
      const systems = payloadSystems(deployment.payload);
      const pending = [...systems.keys()].filter((host) => wanted.has(host) && !reports.has(host));
      if (pending.length === 0) continue;
      const { data: statuses } = await client.octokit.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: deployment.id, per_page: 10 });
      const latest = statuses[0];
      if (!latest || (latest.state !== 'success' && latest.state !== 'failure' && latest.state !== 'error')) continue;
      for (const host of pending) {
        const path = systems.get(host) as string;
        if (latest.state === 'success') {
          const at = new Date(latest.created_at);
          reports.set(host, {
            host,
            system: path,
            booted: path,
            profileGeneration: null,
            failedUnits: [],
            needsReboot: false,
            lastError: failures.get(host)?.message ?? null,
            reportedAt: now,
            adoptedAt: at.getTime() > now.getTime() ? now : at,
            manifestSequence: null,
            agentVersion: 'github-deployments',
            desired: null,
          });
        } else if (!failures.has(host)) {
          const message = `deployment ${deployment.id} ${latest.state === 'error' ? 'errored' : 'failed'}${latest.description ? `: ${latest.description}` : ''}`;
          failures.set(host, { message, path, at: new Date(latest.created_at) });
        }
      }
    }
  }
  // A host whose deployments all failed: what it runs is unknown, but the failure must block.
  const problems: { key: string; message: string }[] = [];
  for (const [host, failure] of failures) {
    if (reports.has(host)) continue;
    problems.push({ key: host, message: `no successful deployment; the newest ${failure.message}` });
    const at = failure.at.getTime() > now.getTime() ? now : failure.at;
    reports.set(host, {
      host,
      system: failure.path,
      booted: failure.path,
      profileGeneration: null,
      failedUnits: [],
      needsReboot: false,
      lastError: failure.message,
      reportedAt: now,
      adoptedAt: at,
      manifestSequence: null,
      agentVersion: 'github-deployments',
      desired: null,
    });
  }
  return { reports, problems };
}
