import { matchesGlob } from 'node:path';
import type { Host, Inventory } from './types.js';

export class SelectionError extends Error {
  override name = 'SelectionError';
}

/**
 * Resolves selectors to hosts, in inventory order. A selector is a host name, a glob (`web*`),
 * `@tag`, `wave:NAME`, `env:NAME`, or `all`. A leading `!` removes what the selector matches.
 * Every selector must match something, so a typo fails instead of silently deploying less.
 */
export function selectHosts(inventory: Inventory, selectors: readonly string[]): Host[] {
  const hosts = Object.values(inventory.hosts);
  const chosen = new Set<string>();
  const positive = selectors.filter((s) => !s.startsWith('!'));
  if (selectors.length > 0 && positive.length === 0) positive.push('all');
  for (const selector of positive) {
    for (const host of matchSelector(inventory, hosts, selector)) chosen.add(host.name);
  }
  for (const selector of selectors.filter((s) => s.startsWith('!'))) {
    for (const host of matchSelector(inventory, hosts, selector.slice(1))) chosen.delete(host.name);
  }
  return hosts.filter((host) => chosen.has(host.name));
}

function matchSelector(inventory: Inventory, hosts: Host[], selector: string): Host[] {
  const known = (names: string[]) => names.join(', ') || '(none)';
  if (selector === 'all') return hosts;
  if (selector.startsWith('@')) {
    const tag = selector.slice(1);
    const found = hosts.filter((h) => h.tags.includes(tag));
    if (found.length === 0) {
      const tags = [...new Set(hosts.flatMap((h) => h.tags))].sort();
      throw new SelectionError(`selector "${selector}": no host has tag "${tag}"; known tags: ${known(tags)}`);
    }
    return found;
  }
  const prefixed = /^(wave|env):(.+)$/.exec(selector);
  if (prefixed) {
    const [, kind, value] = prefixed as unknown as [string, 'wave' | 'env', string];
    const table = kind === 'wave' ? inventory.waves : inventory.environments;
    if (!table[value]) {
      throw new SelectionError(`selector "${selector}": unknown ${kind === 'wave' ? 'wave' : 'environment'} "${value}"; known: ${known(Object.keys(table))}`);
    }
    return hosts.filter((h) => (kind === 'wave' ? h.wave : h.environment) === value);
  }
  if (/[*?[]/.test(selector)) {
    const found = hosts.filter((h) => matchesGlob(h.name, selector));
    if (found.length === 0) throw new SelectionError(`selector "${selector}": matches no host; hosts: ${known(hosts.map((h) => h.name))}`);
    return found;
  }
  const host = inventory.hosts[selector];
  if (!host) throw new SelectionError(`selector "${selector}": unknown host; hosts: ${known(hosts.map((h) => h.name))}`);
  return [host];
}

/** Whether `ref` (e.g. `refs/heads/main`) may deploy to the environment. */
export function refAllowed(allowedRefs: readonly string[], ref: string): boolean {
  return allowedRefs.some((pattern) => pattern === ref || matchesGlob(ref, pattern));
}
