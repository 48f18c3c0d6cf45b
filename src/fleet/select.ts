import { matchesGlob } from 'node:path';
import { orderedWaves } from './inventory.js';
import type { Host, Inventory, Wave } from './types.js';

export class SelectionError extends Error {
  override name = 'SelectionError';
}

/**
 * Resolves selectors to hosts, in inventory order. A selector is a host name, a glob (`web*`),
 * `@tag`, `wave:NAME`, `env:NAME`, `waves:reached`, or `all`. A leading `!` removes what the
 * selector matches. Every selector must match something, so a typo fails instead of silently
 * deploying less.
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
  // `waves:` names a set of waves the inventory computes; `wave:` names one wave, so no wave name is reserved.
  const waveSet = /^waves:(.*)$/.exec(selector);
  if (waveSet) {
    if (waveSet[1] !== 'reached') throw new SelectionError(`selector "${selector}": unknown set of waves "${waveSet[1]}"; known: ${WAVE_SETS.join(', ')} (one wave: wave:NAME)`);
    const reached = reachedWaves(inventory);
    if (reached === undefined) return hosts;
    const names = new Set(reached.map((w) => w.name));
    return hosts.filter((h) => h.wave !== undefined && names.has(h.wave));
  }
  const prefixed = /^(wave|env):(.+)$/.exec(selector);
  if (prefixed) {
    const [, kind, value] = prefixed as unknown as [string, 'wave' | 'env', string];
    const table = kind === 'wave' ? inventory.waves : inventory.environments;
    if (!table[value]) {
      const hint = kind === 'wave' && (WAVE_SETS as readonly string[]).includes(value) ? `; for the set of waves, write waves:${value}` : '';
      throw new SelectionError(`selector "${selector}": unknown ${kind === 'wave' ? 'wave' : 'environment'} "${value}"; known: ${known(Object.keys(table))}${hint}`);
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

const WAVE_SETS = ['reached'] as const;

/**
 * The waves a release has reached (`waves:reached`): every wave on the channel of the first wave
 * (lowest order), where an advance puts a new channel first. Waves without a channel count as one
 * channel, so with no channels at all every wave is reached. Undefined when the inventory has no
 * waves: then the release reaches every host.
 */
export function reachedWaves(inventory: Inventory): Wave[] | undefined {
  const waves = orderedWaves(inventory);
  const lead = waves[0];
  if (!lead) return undefined;
  return waves.filter((wave) => wave.channel === lead.channel);
}

/** Whether `ref` (e.g. `refs/heads/main`) may deploy to the environment. */
export function refAllowed(allowedRefs: readonly string[], ref: string): boolean {
  return allowedRefs.some((pattern) => pattern === ref || matchesGlob(ref, pattern));
}
