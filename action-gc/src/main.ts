import { openStore } from '../../src/cache/open-store.js';
import { loadInventory } from '../../src/fleet/index.js';
import { collectGarbage, type GcReport, type ObjectCount } from '../../src/gc/collect.js';
import { Nix } from '../../src/nix/index.js';
import { actionLog, assumeRoleForThisStep, JobSummary, runAction, setOutputs } from '../../src/runner/index.js';
import { formatBytes } from '../../src/util/bytes.js';
import { formatDuration } from '../../src/util/duration.js';
import { markdownCode } from '../../src/util/markdown.js';
import { readGcSettings } from './settings.js';

/** The action's one step (action.yml `runs.main`). Fails the step on any error. */
export function run(): Promise<void> {
  return runAction(collect);
}

async function collect(): Promise<void> {
  const settings = readGcSettings();
  const { inputs } = settings;
  const inventory = inputs.inventory ? await loadInventory(inputs.inventory, (installable) => new Nix({ log: actionLog }).eval(installable)) : undefined;
  const role = inputs['role-to-assume'];
  const store = openStore(settings.cache, {
    log: actionLog,
    ...(role ? { credentials: assumeRoleForThisStep({ roleToAssume: role, region: settings.region, audience: inputs.audience, durationSeconds: 3600 }) } : {}),
  });
  try {
    const report = await collectGarbage({
      store,
      keepBuilds: inputs['keep-builds'],
      keepGenerations: inputs['keep-generations'],
      pinned: inventory?.pinned ?? [],
      minAgeMs: inputs['min-age'],
      dryRun: inputs['dry-run'],
      now: () => settings.clock.now(),
      log: actionLog,
    });
    const verb = report.dryRun ? 'would delete' : 'deleted';
    actionLog.info(`${verb} ${report.deleted.narinfos} narinfos and ${report.deleted.nars} NARs (${formatBytes(report.deleted.bytes)}); ${report.condemned.narinfos} unreachable paths wait out min-age ${formatDuration(inputs['min-age'])}`);
    setOutputs({ report: report as unknown as object, 'deleted-paths': report.deletedPaths, 'deleted-bytes': report.deleted.bytes });
    await summarize(report, store.url, inputs['min-age']);
  } finally {
    await store.close();
  }
}

/** Paths listed in the summary; the report output has them all. */
const LISTED_PATHS = 200;

const row = (label: string, c: ObjectCount) => [label, String(c.narinfos), String(c.nars), formatBytes(c.bytes)];

async function summarize(report: GcReport, url: string, minAgeMs: number): Promise<void> {
  const summary = new JobSummary().heading(`fleet gc${report.dryRun ? ' (dry run)' : ''}`).text(`Cache ${markdownCode(url)}.`);
  summary.table(['Objects', 'Narinfos', 'NARs', 'NAR bytes'], [
    row('listed', report.listed),
    row('kept (reachable from a root, or younger than min-age)', report.kept),
    row(`unreachable (condemned; they go once condemned for ${formatDuration(minAgeMs)})`, report.condemned),
    row(report.dryRun ? 'would be deleted now' : 'deleted', report.deleted),
  ]);
  const reasons: [keyof GcReport['roots'], string][] = [
    ['manifest', 'current manifests (the manifest and its system)'],
    ['running', 'what hosts report running'],
    ['booted', 'what hosts report booted'],
    ['generation', "hosts' earlier generations (keep-generations)"],
    ['build', 'the last builds of each ref (keep-builds)'],
    ['pinned', 'pinned in the inventory'],
    ['recent', 'narinfos younger than min-age (pushes in flight)'],
  ];
  summary.heading('Roots', 3).table(['Kept because', 'Paths'], reasons.map(([key, label]) => [label, String(report.roots[key])]));
  if (report.deletedPaths.length > 0) {
    const shownPaths = report.deletedPaths.slice(0, LISTED_PATHS).map((p) => `- ${markdownCode(p)}`);
    const more = report.deletedPaths.length - shownPaths.length;
    summary.details(`${report.deletedPaths.length} store paths ${report.dryRun ? 'would be deleted' : 'deleted'}`, [...shownPaths, ...(more > 0 ? [`- and ${more} more (the report output lists them all)`] : [])].join('\n'));
  }
  if (report.spared > 0) summary.text(`${report.spared} objects were spared: written again, or reached by a narinfo that arrived, while the collection ran.`);
  if (report.missing.length > 0) summary.details(`${report.missing.length} roots or references not in the cache`, report.missing.map((m) => `- ${m.why}`).join('\n'));
  await summary.write();
}
