import { refAllowed, selectHosts, type Host, type Inventory } from '../fleet/index.js';
import { UserError } from '../util/errors.js';

/**
 * Resolves the hosts of one deploy and refuses it before anything is touched: an unknown
 * environment, a ref the inventory does not allow there, a protected environment without hosts
 * written out, an empty selection, or a host named explicitly that belongs elsewhere.
 * Broad selectors (`all`, globs, tags, waves) keep only the environment's hosts.
 */
export function selectDeployHosts(inventory: Inventory, environment: string, ref: string, selectors: readonly string[]): Host[] {
  const env = inventory.environments[environment];
  if (!env) {
    throw new UserError(`environment "${environment}" is not in ${inventory.source}; known: ${Object.keys(inventory.environments).join(', ')}`);
  }
  if (!refAllowed(env.allowedRefs, ref)) {
    throw new UserError(
      `${ref || '(no ref)'} may not deploy to ${environment}: ${inventory.source} allows ${env.allowedRefs.join(', ') || 'no ref'} (environments.${environment}.allowed-refs)`,
    );
  }
  if (selectors.length === 0) {
    throw new UserError(`name the hosts to deploy to ${environment} (write \`hosts: all\` to deploy every host)${env.protected ? `; ${environment} is protected` : ''}`);
  }
  const named = selectors.map((s) => inventory.hosts[s]).filter((h): h is Host => h !== undefined && h.environment !== environment);
  if (named.length > 0) {
    throw new UserError(`${named.map((h) => `${h.name} is in ${h.environment}`).join(', ')}, not ${environment}`);
  }
  const hosts = selectHosts(inventory, selectors).filter((h) => h.environment === environment);
  if (hosts.length === 0) throw new UserError(`${selectors.join(', ')} selects no host of ${environment}`);
  return hosts;
}
