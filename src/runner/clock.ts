import type { Clock } from '../util/async.js';
import { UserError } from '../util/errors.js';

/**
 * The clock: the system's, or a fixed time from FLEET_NOW (ISO 8601). FLEET_NOW exists for tests
 * that move time forward through the bundle; workflows should never set it.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const fixed = env.FLEET_NOW?.trim();
  if (!fixed) return { now: () => new Date() };
  const time = new Date(fixed);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(fixed) || Number.isNaN(time.getTime())) {
    throw new UserError(`FLEET_NOW="${fixed}" is not an ISO 8601 time (example: 2025-03-01T12:00:00Z); it is meant for tests only`);
  }
  return { now: () => new Date(time) };
}
