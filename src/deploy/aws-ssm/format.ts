import { shortStorePath } from '../../rollout/format.js';
import type { InstanceResult } from './invocations.js';

export const INSTANCE_HEADERS = ['Host', 'Instance', 'Outcome', 'Store path', 'Message'];

/** A row per instance behind each `aws-ssm` host, for the job summary. */
export function instanceRows(results: ReadonlyMap<string, readonly InstanceResult[]>): string[][] {
  return [...results].flatMap(([host, instances]) =>
    instances.map((r) => [host, r.instanceId, r.outcome, r.after ? shortStorePath(r.after) : '', r.message]),
  );
}
