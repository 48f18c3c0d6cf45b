import { createGitHubClient } from '../../src/github/client.js';
import { Nix } from '../../src/nix/index.js';
import { actionLog, JobSummary, readRunContext, runAction, setOutputs } from '../../src/runner/index.js';
import { cacheClosures, firstClosure, localClosures, sizeChange, type ClosureSource, type SizeChange } from '../../src/wave/sizes.js';
import { mapConcurrent } from '../../src/util/async.js';
import { parseExpected } from '../../src/wave/expected.js';
import { loadInventoryWithText, pathInside } from '../../src/wave/inventory-source.js';
import { reportJson, type WaveReport } from '../../src/wave/report.js';
import type { Inventory } from '../../src/fleet/types.js';
import { runWave } from '../../src/wave/run.js';
import { summaryMarkdown } from '../../src/wave/summary.js';
import { renderStatusPage, statusPageInput, writePageInside } from '../../src/status-page/index.js';
import type { OpenedStore } from '../../src/cache/open-store.js';
import { errorMessage, UserError } from '../../src/util/errors.js';
import { formatDuration } from '../../src/util/duration.js';
import { appendHistory, HISTORY_MAX_AGE_MS, HISTORY_PREFIX, historyRecord, pruneHistory, readHistory, statusHistory, withCurrent, type StatusHistory } from '../../src/wave/history.js';
import type { WaveInputs } from './inputs.js';
import { readWaveSettings } from './settings.js';
import { expectedSource, nextExpectedSource, openStatusStore, reportSource } from './sources.js';

/** The action's one step (action.yml `runs.main`). Fails the step on any error. */
export function run(): Promise<void> {
  return runAction(runUpgradeWave);
}

/** The status page of a `status` run at `path` (inside the workspace); the path written, for the output. */
async function writeStatusPageFor(report: WaveReport, inventory: Inventory, workspace: string, path: string, history: StatusHistory | undefined, closures: ClosureSource): Promise<string | undefined> {
  if (report.mode !== 'status') {
    actionLog.warning(`html: the status page is written by mode status only; nothing was written for mode ${report.mode}`);
    return undefined;
  }
  const sizes = await closureChanges(report, closures);
  await writePageInside(workspace, path, renderStatusPage(statusPageInput(report, inventory, history, sizes)));
  actionLog.info(`status page written to ${path}`);
  return path;
}

/** For every host that runs another system than its expected one: the closure change of moving to it. */
async function closureChanges(report: WaveReport, closures: ClosureSource): Promise<Map<string, SizeChange>> {
  const behind = report.waves.flatMap((w) => w.hosts).filter((h) => h.expected && h.running && h.expected !== h.running);
  const sizes = await mapConcurrent(behind, 4, (h) => sizeChange(h.host, h.running, h.expected, closures));
  return new Map(sizes.map((size) => [size.host, size]));
}

/** Deletes the records no reader reads any more; one that cannot be deleted is left for the next run, with a warning. */
async function pruneExpiredHistory(store: OpenedStore, now: Date): Promise<void> {
  try {
    const deleted = await pruneHistory(store, { now });
    if (deleted.length > 0) actionLog.info(`status history: deleted ${deleted.length} records older than ${formatDuration(HISTORY_MAX_AGE_MS)}`);
  } catch (error) {
    actionLog.warning(`status history: could not delete the records older than ${formatDuration(HISTORY_MAX_AGE_MS)} in ${store.url} (${errorMessage(error)}); for S3 the role-to-assume needs s3:DeleteObject on ${HISTORY_PREFIX}*`);
  }
}

/**
 * The status history of a `status` run: appends the run's record when `history` is true (a failed
 * write fails the step), then, when the page is written, reads the history back (whatever
 * `history` says), the run's own record as the newest. A record that cannot be read is skipped
 * with a warning; a listing that fails leaves the page without history, with a warning.
 */
async function statusHistoryFor(report: WaveReport, store: OpenedStore | undefined, inputs: Pick<WaveInputs, 'history' | 'html'>): Promise<StatusHistory | undefined> {
  if (report.mode !== 'status') {
    if (inputs.history) actionLog.warning(`history: the status history is appended to by mode status only; nothing was appended for mode ${report.mode}`);
    return undefined;
  }
  const current = historyRecord(report);
  if (inputs.history && store) {
    try {
      const key = await appendHistory(store, current);
      actionLog.info(`status history record written to ${key}`);
    } catch (error) {
      throw new UserError(
        `could not append the status history record to ${store.url} (${errorMessage(error)}); with history: true the job needs write access to ${HISTORY_PREFIX} there (for S3, s3:PutObject for the role-to-assume)`,
        { cause: error },
      );
    }
    await pruneExpiredHistory(store, report.generatedAt);
  }
  if (!inputs.html || !store) return undefined;
  let read;
  try {
    read = await readHistory(store, { now: report.generatedAt });
  } catch (error) {
    actionLog.warning(`status history: could not list ${HISTORY_PREFIX} in ${store.url} (${errorMessage(error)}); the page shows no history`);
    return undefined;
  }
  for (const problem of read.problems) actionLog.warning(`status history: skipped ${problem.key}: ${problem.message}`);
  if (read.records.length === 0 && read.problems.length === 0 && !inputs.history) return undefined;
  return statusHistory(withCurrent(read.records, current), read.problems);
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
    const closures = store ? firstClosure(cacheClosures(store, { log: actionLog }), localClosures(nix())) : localClosures(nix());
    const report = await runWave({
      mode: inputs.mode,
      inventory: loaded,
      ...(inventoryRepoPath ? { inventoryRepoPath } : {}),
      reports: reportSource(settings, store, github),
      expected: expectedSource(expected, inputs.flake, nix),
      ...(baseline ? { baseline } : {}),
      ...(nextSource ? { nextExpected: nextSource } : {}),
      closures,
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

    const history = await statusHistoryFor(report, store, inputs);
    const html = inputs.html ? await writeStatusPageFor(report, loaded.inventory, context.workspace, inputs.html, history, closures) : undefined;
    setOutputs({ decision: report.decision, report: reportJson(report) as object, 'pull-request-number': report.pullRequest?.number, 'report-html': html });
    for (const warning of report.warnings) actionLog.warning(warning);
    if (report.decision === 'blocked') actionLog.warning(`blocked: ${report.reason}`);
    else actionLog.info(`${report.decision}: ${report.reason}`);
    await new JobSummary().text(summaryMarkdown(report)).write();
  } finally {
    await store?.close();
  }
}
