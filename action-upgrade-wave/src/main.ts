import { createGitHubClient } from '../../src/github/client.js';
import { Nix } from '../../src/nix/index.js';
import { actionLog, JobSummary, readRunContext, runAction, setOutputs } from '../../src/runner/index.js';
import { firstClosure, cacheClosures, localClosures } from '../../src/wave/sizes.js';
import { parseExpected } from '../../src/wave/expected.js';
import { loadInventoryWithText, pathInside } from '../../src/wave/inventory-source.js';
import { reportJson } from '../../src/wave/report.js';
import { runWave } from '../../src/wave/run.js';
import { summaryMarkdown } from '../../src/wave/summary.js';
import { readWaveSettings } from './settings.js';
import { expectedSource, nextExpectedSource, openStatusStore, reportSource } from './sources.js';

/** The action's one step (action.yml `runs.main`). Fails the step on any error. */
export function run(): Promise<void> {
  return runAction(runUpgradeWave);
}

async function runUpgradeWave(): Promise<void> {
  const settings = readWaveSettings();
  const { inputs } = settings;
  const context = readRunContext();
  let nixInstance: Nix | undefined;
  const nix = () => (nixInstance ??= new Nix({ log: actionLog }));

  const loaded = await loadInventoryWithText(inputs.inventory, { cwd: context.workspace, evalJson: (installable) => nix().eval(installable) });
  const hostNames = Object.keys(loaded.inventory.hosts);
  const systems = (name: 'expected' | 'baseline' | 'next-expected') => (inputs[name] ? parseExpected(inputs[name], hostNames, name) : undefined);
  const [expected, baseline, nextExpected] = [systems('expected'), systems('baseline'), systems('next-expected')];

  const github = inputs.token
    ? {
        client: createGitHubClient({ token: inputs.token, baseUrl: context.apiUrl, graphqlUrl: context.graphqlUrl, log: actionLog }),
        repo: { owner: context.owner, repo: context.repo },
        runUrl: context.runUrl,
      }
    : undefined;
  if (!github) actionLog.warning('no token: hold labels on issues and pull requests were not checked (only the inventory\'s holds)');
  const store = openStatusStore(settings);
  try {
    const nextSource = nextExpectedSource(nextExpected, inputs.flake, loaded, context.workspace, nix);
    const inventoryRepoPath = loaded.file ? pathInside(context.workspace, loaded.file) : undefined;
    const report = await runWave({
      mode: inputs.mode,
      inventory: loaded,
      ...(inventoryRepoPath ? { inventoryRepoPath } : {}),
      reports: reportSource(settings, store, github),
      expected: expectedSource(expected, inputs.flake, nix),
      ...(baseline ? { baseline } : {}),
      ...(nextSource ? { nextExpected: nextSource } : {}),
      closures: store ? firstClosure(cacheClosures(store, { log: actionLog }), localClosures(nix())) : localClosures(nix()),
      ...(inputs.soak !== undefined ? { soakMs: inputs.soak } : {}),
      ...(inputs.quorum ? { quorum: inputs.quorum } : {}),
      offlineAfterMs: inputs['offline-after'],
      sourceBranch: inputs['source-branch'],
      targetBranch: inputs['target-branch'],
      ...(inputs.hosts.length > 0 ? { promotionHosts: inputs.hosts } : {}),
      holdLabel: inputs['hold-label'],
      autoMerge: inputs['auto-merge'],
      abort: inputs.abort,
      ...(github ? { github } : {}),
      now: settings.clock.now(),
      log: actionLog,
    });

    setOutputs({ decision: report.decision, report: reportJson(report) as object, 'pull-request-number': report.pullRequest?.number });
    for (const warning of report.warnings) actionLog.warning(warning);
    if (report.decision === 'blocked') actionLog.warning(`blocked: ${report.reason}`);
    else actionLog.info(`${report.decision}: ${report.reason}`);
    await new JobSummary().text(summaryMarkdown(report)).write();
  } finally {
    await store?.close();
  }
}
