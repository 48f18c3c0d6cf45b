import { matchesGlob } from 'node:path';
import { selectHosts, type Inventory } from '../fleet/index.js';
import type { Nix } from '../nix/index.js';
import { UserError } from '../util/errors.js';

/** Something to build: a host's system, or an installable given as-is. */
export interface BuildTarget {
  /** The key in the `store-paths` output: a host name, or the installable itself. */
  name: string;
  installable: string;
  kind: 'host' | 'installable';
  /** The host's system, when the inventory gives it. */
  system?: string;
}

export interface TargetRequest {
  flake: string;
  hosts: readonly string[];
  installables: readonly string[];
  inventory?: Inventory;
  /** The systems this job builds; inventory hosts of other systems are left to other jobs. */
  systems?: ReadonlySet<string>;
}

/** A selected host this job does not build: its system is another job's. */
export interface OtherSystemHost {
  host: string;
  system: string;
}

export interface ResolvedTargets {
  targets: BuildTarget[];
  otherSystems: OtherSystemHost[];
}

export const toplevelOf = (flake: string, attribute: string): string =>
  `${flake}#nixosConfigurations.${quoteAttr(attribute)}.config.system.build.toplevel`;

function quoteAttr(name: string): string {
  return /^[A-Za-z_][\w'-]*$/.test(name) ? name : JSON.stringify(name);
}

/**
 * Decides what to build: explicit installables win; otherwise hosts chosen by selectors, through
 * the inventory when there is one, or by name and glob among the flake's nixosConfigurations.
 */
export async function resolveTargets(request: TargetRequest, nix: Nix): Promise<ResolvedTargets> {
  if (request.installables.length > 0) {
    return { targets: request.installables.map((installable) => ({ name: installable, installable, kind: 'installable' })), otherSystems: [] };
  }
  // `none` builds no host: a run for the VM tests alone.
  if (request.hosts.length === 1 && request.hosts[0] === 'none') return { targets: [], otherSystems: [] };
  const configurations = await nix.evalAttrNames(request.flake, 'nixosConfigurations').catch((error: Error) => {
    throw new UserError(`cannot list nixosConfigurations of ${request.flake}: ${error.message}`);
  });
  if (request.inventory) {
    const selected = selectHosts(request.inventory, request.hosts.length > 0 ? request.hosts : ['all']);
    const systems = request.systems;
    const hosts = systems ? selected.filter((h) => systems.has(h.system)) : selected;
    const otherSystems = selected.filter((h) => !hosts.includes(h)).map((h) => ({ host: h.name, system: h.system }));
    const missing = hosts.filter((h) => !configurations.includes(h.attribute));
    if (missing.length > 0) {
      throw new UserError(
        `${missing.map((h) => `${h.name} (nixosConfigurations.${h.attribute})`).join(', ')} not in ${request.flake}; the flake has: ${configurations.join(', ') || '(none)'}`,
      );
    }
    return { targets: hosts.map((h) => ({ name: h.name, installable: toplevelOf(request.flake, h.attribute), kind: 'host', system: h.system })), otherSystems };
  }
  const selected = request.hosts.length === 0 || request.hosts.includes('all') ? configurations : selectByName(configurations, request.hosts);
  if (selected.length === 0) throw new UserError(`${request.flake} has no nixosConfigurations to build; set installables or hosts`);
  return { targets: selected.map((name) => ({ name, installable: toplevelOf(request.flake, name), kind: 'host' })), otherSystems: [] };
}

/** Selectors only an inventory can resolve (`@tag`, `wave:NAME`, `env:NAME`, `waves:reached`, also negated). */
export function inventorySelectors(selectors: readonly string[]): string[] {
  return selectors.filter((selector) => /^!?(@|waves?:|env:)/.test(selector));
}

function selectByName(configurations: string[], selectors: readonly string[]): string[] {
  const needInventory = inventorySelectors(selectors);
  if (needInventory.length > 0) {
    throw new UserError(`selector "${needInventory[0]}" needs the inventory: set the inventory input (for example fleet.yaml)`);
  }
  const chosen = new Set<string>();
  for (const selector of selectors) {
    const found = configurations.filter((name) => name === selector || matchesGlob(name, selector));
    if (found.length === 0) throw new UserError(`selector "${selector}" matches no nixosConfigurations; the flake has: ${configurations.join(', ')}`);
    found.forEach((name) => chosen.add(name));
  }
  return configurations.filter((name) => chosen.has(name));
}
