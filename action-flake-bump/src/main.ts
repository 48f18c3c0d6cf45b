import { runFlakeBump } from '../../src/bump/bump.js';
import { describeCheck } from '../../src/bump/pr-body.js';
import { summaryTables } from '../../src/bump/summary.js';
import { apiBranchWriter, createGitHubClient, gitBranchWriter } from '../../src/github/index.js';
import { Nix, type NixSettings } from '../../src/nix/index.js';
import { actionLog, JobSummary, readRunContext, runAction, setOutputs } from '../../src/runner/index.js';
import { UserError } from '../../src/util/errors.js';
import { readBumpSettings } from './settings.js';

/** The action's one step (action.yml `runs.main`). Fails the step on any error. */
export function run(): Promise<void> {
  return runAction(bumpFlakeLocks);
}

async function bumpFlakeLocks(): Promise<void> {
  const { inputs, nixOptions } = readBumpSettings();
  const context = readRunContext();
  const repo = { owner: context.owner, repo: context.repo };
  const client = createGitHubClient({ token: inputs.token, baseUrl: context.apiUrl, graphqlUrl: context.graphqlUrl, log: actionLog });
  const nixSettings: NixSettings = { log: actionLog, options: nixOptions };
  const nix = new Nix(nixSettings);

  const outcome = await runFlakeBump({
    flakes: inputs.path,
    cwd: context.workspace,
    inputs: inputs.inputs,
    group: inputs.group,
    branch: inputs.branch,
    base: inputs.base ?? '',
    title: inputs.title,
    labels: inputs.labels,
    reviewers: inputs.reviewers,
    autoMerge: inputs['auto-merge'],
    checks: inputs.checks,
    diffHosts: inputs['diff-hosts'],
    nix,
    client,
    repo,
    writer: (repoRoot) => (inputs['commit-method'] === 'git' ? gitBranchWriter({ cwd: repoRoot, token: inputs.token }) : apiBranchWriter(client, repo)),
    log: actionLog,
  });

  setOutputs({
    'pull-request-number': outcome.pullRequest ? String(outcome.pullRequest.number) : '',
    'pull-request-url': outcome.pullRequest?.url ?? '',
    operation: outcome.operation,
    changes: outcome.changes,
    'pull-requests': outcome.groups.map((g) => ({ group: g.group, branch: g.branch, operation: g.operation, number: g.pullRequest?.number ?? null, url: g.pullRequest?.url ?? null })),
    'failed-checks': outcome.failedChecks.length,
  });

  const tables = summaryTables(outcome);
  const summary = new JobSummary().heading('fleet flake bump').text(tables.headline);
  summary.heading('Inputs', 3).table(
    ['Input', 'Value'],
    [
      ['path', inputs.path.join(', ')],
      ['inputs', inputs.inputs.join(', ') || '(all)'],
      ['group', inputs.group],
      ['branch', inputs.branch],
      ['base', outcome.base],
      ['commit-method', inputs['commit-method']],
      ['checks', inputs.checks],
      ['diff-hosts', inputs['diff-hosts'].join(', ') || (inputs.checks === 'build' ? '(all)' : '(none)')],
      ['auto-merge', inputs['auto-merge']],
      ['labels', inputs.labels.join(', ')],
      ['reviewers', inputs.reviewers.join(', ')],
    ],
  );
  summary.heading('Outcome', 3).table(tables.outcome.headers, tables.outcome.rows);
  if (tables.changes.rows.length > 0) summary.heading('Changes', 3).table(tables.changes.headers, tables.changes.rows);
  if (tables.checks.rows.length > 0) summary.heading('Checks', 3).table(tables.checks.headers, tables.checks.rows);
  await summary.write();

  if (outcome.failedChecks.length > 0) {
    const where = outcome.pullRequest ? ` (details in ${outcome.pullRequest.url})` : '';
    const names = outcome.failedChecks.map(describeCheck).join(', ');
    throw new UserError(`${outcome.failedChecks.length} check${outcome.failedChecks.length === 1 ? '' : 's'} failed after the update (${names})${where}`);
  }
}
