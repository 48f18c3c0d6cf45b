import type { DeployAction } from './types.js';

export { DEPLOY_ACTIONS, type DeployAction } from './types.js';

/**
 * What each deploy action means on a host, in one place for every transport. `reboot` is `boot`
 * followed by a reboot into the new system.
 */

/** The action goes through the system profile (a new generation), and so does its rollback. */
export const usesProfile = (action: DeployAction): boolean => action === 'switch' || action === 'boot' || action === 'reboot';

/** The action changes only the profile and the boot loader: the running system stays until a reboot. */
export const bootOnly = (action: DeployAction): boolean => action === 'boot' || action === 'reboot';

/** The action changes nothing on the host (switch-to-configuration dry-activate). */
export const changesNothing = (action: DeployAction): boolean => action === 'dry-activate';

/** The action runs the new system without making it the boot default. */
export const runsWithoutBooting = (action: DeployAction): boolean => action === 'test' || action === 'dry-activate';

/** How a rollback brings the previous system back after `action`. */
export function rollbackActionAfter(action: DeployAction): 'switch' | 'test' | 'boot' {
  if (action === 'test') return 'test';
  return bootOnly(action) ? 'boot' : 'switch';
}
