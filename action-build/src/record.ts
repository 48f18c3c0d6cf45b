import type { BuildOutcome } from '../../src/nix/build-report.js';
import type { ClosurePusher } from '../../src/pipeline/closure-pusher.js';
import type { BuildTarget } from '../../src/pipeline/targets.js';
import type { RunContext } from '../../src/runner/index.js';
import { errorMessage } from '../../src/util/errors.js';
import type { Log } from '../../src/util/log.js';

/**
 * Records in the cache which system each target of this build is (fleet/builds/…), for the garbage
 * collection's keep-builds: only targets whose whole closure landed. A failed write is a warning:
 * the push itself succeeded.
 */
export async function recordBuild(pusher: ClosurePusher, built: { targets: BuildTarget[]; outcomes: BuildOutcome[] }, context: RunContext, log: Log): Promise<void> {
  const storePaths: Record<string, string> = {};
  built.outcomes.forEach((outcome, i) => {
    const root = outcome.ok ? Object.values(outcome.outputs)[0] : undefined;
    const target = built.targets[i];
    if (root && target && pusher.closureLanded(root)) storePaths[target.name] = root;
  });
  if (Object.keys(storePaths).length === 0 || !context.ref || !/^[0-9a-f]{7,64}$/.test(context.sha)) return;
  try {
    const key = await pusher.recordBuild({ format: 1, ref: context.ref, sha: context.sha, builtAt: new Date().toISOString(), storePaths });
    if (key) log.info(`recorded this build as ${key}, so the cache's garbage collection keeps it (keep-builds)`);
  } catch (error) {
    log.warning(`could not record this build in the cache (${errorMessage(error)}): its garbage collection keeps these systems only while a manifest or a host holds them`);
  }
}
