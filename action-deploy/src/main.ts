import { INSTANCE_HEADERS, instanceRows, SsmTransport } from '../../src/deploy/aws-ssm/index.js';
import { deploy, planDeploy, type DeployRequest } from '../../src/deploy/index.js';
import { selectDeployHosts } from '../../src/deploy/guard.js';
import { loadInventory } from '../../src/fleet/index.js';
import { createGitHubClient, DeploymentRecord } from '../../src/github/index.js';
import { Nix } from '../../src/nix/index.js';
import { formatResultsMarkdown, type HostResult } from '../../src/rollout/index.js';
import { actionLog, JobSummary, readRunContext, runAction, setOutputs, type RunContext } from '../../src/runner/index.js';
import { UserError } from '../../src/util/errors.js';
import type { DeployInputs } from './inputs.js';
import { readDeploySettings } from './settings.js';
import { recordSshLeftovers } from './ssh-leftovers.js';
import { resolveSystems } from './systems.js';
import { openTransports } from './transports.js';

const byOutcome = (results: readonly HostResult[], ...outcomes: string[]) => results.filter((r) => outcomes.includes(r.outcome)).map((r) => r.host);

/** The action's one step (action.yml `runs.main`). Fails the step on any error. */
export function run(): Promise<void> {
  return runAction(deployToEnvironment);
}

async function deployToEnvironment(): Promise<void> {
  const { inputs, rollout, deploy: settings, ssh } = readDeploySettings();
  const context = readRunContext();
  const nix = new Nix({ log: actionLog });
  const inventory = await loadInventory(inputs.inventory, (installable) => nix.eval(installable));
  const hosts = selectDeployHosts(inventory, inputs.environment, context.ref, inputs.hosts);

  // Transports check their own inputs (manifest store and key) before anything is built.
  const sshOptions = { ...ssh, onLeftovers: recordSshLeftovers };
  const transports = await openTransports(hosts, inputs, settings, rollout, context, actionLog, sshOptions);
  try {
    const systems = await resolveSystems(hosts, inputs['store-paths'], inputs.flake, nix);
    await rollOut(inputs, context, inventory.environments[inputs.environment]?.protected ?? false, {
      hosts,
      systems,
      rollout,
      settings,
      transports,
      ssh: sshOptions,
      log: actionLog,
      nix,
    });
  } finally {
    await Promise.all(Object.values(transports).map((t) => t.close()));
  }
}

async function rollOut(inputs: DeployInputs, context: RunContext, production: boolean, request: DeployRequest): Promise<void> {
  const { hosts, systems } = request;
  const plan = planDeploy(request);
  const planOutput = plan.plan.batches.map((batch) => batch.hosts.map((h) => h.name));
  const summary = new JobSummary().heading(`fleet deploy to ${inputs.environment}`).text(plan.markdown);
  if (inputs['dry-run']) {
    actionLog.info(plan.text);
    setOutputs({ plan: planOutput, results: {}, succeeded: [], failed: [], 'rolled-back': [] });
    await summary.text('Dry run: nothing was touched.').write();
    return;
  }

  const record =
    inputs.deployment && inputs['github-token']
      ? await DeploymentRecord.create(
          createGitHubClient({ token: inputs['github-token'], tokenInput: 'github-token', log: actionLog }),
          { owner: context.owner, repo: context.repo },
          {
            ref: context.sha || context.ref,
            environment: inputs.environment,
            payload: { hosts: systems, action: inputs.action },
            description: `${inputs.action} ${hosts.length} hosts`,
            productionEnvironment: production,
          },
          context.runUrl,
        )
      : undefined;
  await record?.status('in_progress', `deploying ${hosts.length} hosts`);

  let report;
  try {
    report = await deploy(request);
  } catch (error) {
    await record?.status('error', (error as Error).message);
    throw error;
  }
  const failed = byOutcome(report.results, 'failed', 'rolled-back', 'unreachable', 'degraded');
  const skipped = byOutcome(report.results, 'skipped');
  await record?.status(failed.length === 0 && skipped.length === 0 ? 'success' : 'failure', `${byOutcome(report.results, 'succeeded').length} succeeded, ${failed.length} failed, ${skipped.length} skipped`);

  setOutputs({
    results: Object.fromEntries(
      report.results.map(({ host, batch: _batch, ...result }) => [host, { ...result, duration: Math.round(result.durationMs) }]),
    ),
    succeeded: byOutcome(report.results, 'succeeded'),
    failed,
    'rolled-back': byOutcome(report.results, 'rolled-back'),
    plan: planOutput,
  });
  summary.heading('Results', 3).text(formatResultsMarkdown(report));
  const ssm = request.transports?.['aws-ssm'];
  if (ssm instanceof SsmTransport) summary.heading('SSM instances', 3).table(INSTANCE_HEADERS, instanceRows(ssm.instanceResults()));
  await summary.write();
  if (failed.length > 0 || skipped.length > 0) {
    // Names and outcomes only: the hosts' own messages are in the results table, not in an annotation.
    const how = report.results.filter((r) => failed.includes(r.host)).map((r) => `${r.host} ${r.outcome.replace('-', ' ')}`);
    throw new UserError(
      `${failed.length} of ${report.results.length} hosts did not deploy cleanly (${how.join(', ') || 'none'}); ${skipped.length} skipped${skipped.length > 0 ? ` (${skipped.join(', ')})` : ''}. The Results table in the job summary says why.`,
    );
  }
}
