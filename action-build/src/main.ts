import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTargets, pushOutputs, pushWith, reportTargets } from '../../src/pipeline/build-and-push.js';
import { ClosurePusher } from '../../src/pipeline/closure-pusher.js';
import { recordBuild } from './record.js';
import type { BuildTarget } from '../../src/pipeline/targets.js';
import { formatDuration } from '../../src/util/duration.js';
import { buildManifest, CHECK_HEADERS, checkRows, otherSystemRows, repairLines, storePathsOf, targetHeaders, targetRows, totalsLine, VERIFY_CACHE_HINT } from '../../src/pipeline/report.js';
import { resolveBuildSystems } from '../../src/pipeline/build-systems.js';
import { loadInventory } from '../../src/fleet/index.js';
import { Nix } from '../../src/nix/index.js';
import { actionLog, JobSummary, readRunContext, runAction, setOutputs } from '../../src/runner/index.js';
import { errorMessage, UserError } from '../../src/util/errors.js';
import { markdownCode, markdownText } from '../../src/util/markdown.js';
import { restoreEvalCache } from './eval-cache.js';
import { planBuild } from './plan.js';
import { decidePush, readBuildSettings } from './settings.js';

/** The main step (action.yml `runs.main`); post.ts is the post step, which saves the eval cache. */
export function run(): Promise<void> {
  return runAction(buildHosts);
}

async function buildHosts(): Promise<void> {
  const settings = readBuildSettings();
  if (settings.inputs['nix-eval-cache']) await restoreEvalCache(settings.inputs.flake);
  const runnerNix = new Nix({ log: actionLog });
  const inventory = settings.inputs.inventory ? await loadInventory(settings.inputs.inventory, (i) => runnerNix.eval(i)) : undefined;
  if (settings.inputs.plan) return planBuild(settings.inputs, inventory, runnerNix);

  const context = readRunContext();
  const push = decidePush(settings, context);
  actionLog.info(push.reason);
  const systems = await resolveBuildSystems(runnerNix, settings.inputs.system, settings.inputs.builders);
  const nix = runnerNix.withOptions(systems.nixOptions);
  const buildStarted = performance.now();
  // Our own stores take each host's closure as soon as it is built (not for pull requests: see decidePush).
  const pusher = push.enabled && push.request.cache.kind !== 'nix-copy' ? new ClosurePusher(push.request, nix, actionLog) : undefined;
  const inCacheAfterMs = new Map<string, number>();
  const pushEarly = (target: BuildTarget, outputs: Record<string, string>): void => {
    pusher?.push(Object.values(outputs)).then(
      (whole) => {
        if (!whole) return;
        inCacheAfterMs.set(target.name, performance.now() - buildStarted);
        actionLog.info(`${target.name} is in the cache (${formatDuration(performance.now() - buildStarted)} into the build)`);
      },
      (error: unknown) => actionLog.warning(`pushing ${target.name} while building failed: ${errorMessage(error)}; the push after the build tries again`),
    );
  };
  const built = await buildTargets(
    {
      flake: settings.inputs.flake,
      hosts: settings.inputs.hosts,
      installables: settings.inputs.installables,
      ...(inventory ? { inventory } : {}),
      systems,
      checks: settings.inputs.checks,
    },
    nix,
    actionLog,
    push.enabled && push.early ? pushEarly : undefined,
  );
  // Check results are pushed like any path, so an unchanged test is substituted next time.
  const roots = [
    ...built.outcomes.flatMap((o) => (o.ok ? Object.values(o.outputs) : [])),
    ...built.checks.flatMap((c) => (c.outPath ? [c.outPath] : [])),
  ];
  const buildDeps = push.enabled && settings.inputs['push-build-deps'] ? await nix.buildTimeClosure(built.outcomes.flatMap((o) => (o.ok && o.drvPath ? [o.drvPath] : []))) : [];
  if (buildDeps.length > 0) actionLog.info(`push-build-deps: also pushing the ${buildDeps.length} paths the builds used`);
  // After the build: whatever the early pushes have not landed (all of it for a pull request).
  const pushed = pusher
    ? await pushWith(pusher, [...roots, ...buildDeps], actionLog, () => recordBuild(pusher, built, context, actionLog))
    : push.enabled
      ? await pushOutputs([...roots, ...buildDeps], push.request, nix, actionLog)
      : { infos: roots.length > 0 ? await nix.pathInfo(roots, { recursive: true }) : [], pushMs: 0 };
  if (pusher) {
    built.outcomes.forEach((outcome, i) => {
      const name = (built.targets[i] as BuildTarget).name;
      const root = outcome.ok ? Object.values(outcome.outputs)[0] : undefined;
      if (root && !inCacheAfterMs.has(name) && pusher.closureLanded(root)) inCacheAfterMs.set(name, performance.now() - buildStarted);
    });
  }
  const targets = reportTargets(built.targets, built.outcomes, pushed.infos, 'push' in pushed ? pushed.push : undefined, inCacheAfterMs);
  const delegatedTo = 'delegatedTo' in pushed ? pushed.delegatedTo : undefined;
  // Only our own push reads the cache's entries; nix copy (ssh stores) has none to verify.
  const verified = push.enabled && !delegatedTo && settings.inputs['verify-cache'];
  const manifest = buildManifest(
    push.enabled ? settings.cacheForDisplay : undefined,
    targets,
    built.checks,
    pushed.infos,
    'push' in pushed ? pushed.push : undefined,
    built.buildMs,
    pushed.pushMs,
    verified,
  );
  const manifestPath = join(process.env.RUNNER_TEMP ?? process.cwd(), 'fleet-build-manifest.json');
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  setOutputs({
    'store-paths': storePathsOf(targets),
    'other-systems': Object.fromEntries(built.otherSystems.map((h) => [h.host, h.system])),
    manifest: manifestPath,
    'pushed-paths': manifest.totals.pushed,
    'pushed-bytes': manifest.totals.pushedBytes,
    'skipped-paths': manifest.totals.skipped,
    'repaired-paths': manifest.totals.repaired,
    checks: built.checks.map(({ log: _log, ...check }) => check),
  });

  const summary = new JobSummary().heading('fleet build').table(targetHeaders(verified), targetRows(targets, push.enabled && !delegatedTo, verified));
  if (delegatedTo) summary.text(`Copied ${manifest.totals.paths} paths with \`nix copy\` to ${delegatedTo}.`);
  else summary.text(push.enabled ? totalsLine(manifest) : `Not pushed: ${push.reason}`);
  if (buildDeps.length > 0) summary.text(`The totals include ${buildDeps.length} paths the builds used (\`push-build-deps\`), for other runners to substitute.`);
  const repaired = repairLines(manifest);
  if (repaired.length > 0) summary.details(`${repaired.length} broken cache entries repaired`, repaired.join('\n'));
  else if (!verified && ('push' in pushed ? (pushed.push?.totals.skipped ?? 0) : 0) > 0) summary.text(VERIFY_CACHE_HINT);
  if (built.otherSystems.length > 0) {
    summary.heading('Left to other systems\' jobs', 3).table(['Host', 'System', 'Built by'], otherSystemRows(built.otherSystems));
  }
  if (built.checks.length > 0) summary.heading('NixOS VM tests', 3).table(CHECK_HEADERS, checkRows(built.checks));
  const failedPaths = manifest.paths.filter((p) => p.status === 'failed' || p.status === 'blocked');
  const unrepaired = failedPaths.filter((p) => p.repair).length;
  if (failedPaths.length > 0) {
    summary.details(`${failedPaths.length} paths not pushed`, failedPaths.map((p) => `- ${markdownCode(p.path)} (${p.status}): ${markdownText(p.error ?? '')}`).join('\n'));
  }
  await summary.write();

  const failedTargets = targets.filter((t) => !t.outcome.ok).map((t) => t.target.name);
  const failedChecks = built.checks.filter((c) => c.outcome === 'failed').map((c) => c.name);
  const problems = [
    failedTargets.length > 0 ? `failed to build: ${failedTargets.join(', ')}` : '',
    failedChecks.length > 0 ? `VM tests failed: ${failedChecks.join(', ')}` : '',
    failedPaths.length > unrepaired ? `${failedPaths.length - unrepaired} paths were not pushed (re-run to finish; no narinfo points at a missing NAR)` : '',
    unrepaired > 0 ? `${unrepaired} broken cache entries could not be repaired and are left as they were (re-run to finish)` : '',
  ].filter(Boolean);
  if (problems.length > 0) throw new UserError(problems.join('; '));
}
