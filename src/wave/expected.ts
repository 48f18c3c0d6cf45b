import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Nix } from '../nix/nix.js';
import type { Host } from '../fleet/types.js';
import { InputError, shown } from '../runner/inputs.js';
import { UserError } from '../util/errors.js';

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[^/]+$/;

/**
 * Validates the `expected` input (action-build's `store-paths`: host → system path) against the
 * inventory: unknown hosts and non-store paths are errors, so a typo cannot make a gate pass.
 */
export function parseExpected(value: unknown, knownHosts: readonly string[], inputName = 'expected'): Map<string, string> {
  const example = (host = knownHosts[0] ?? 'web1') => `{"${host}": "/nix/store/<hash>-nixos-system-${host}"}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(inputName, `${shown(JSON.stringify(value))} must be a JSON object from host name to system path`, example());
  }
  const known = new Set(knownHosts);
  const map = new Map<string, string>();
  for (const [host, path] of Object.entries(value)) {
    if (!known.has(host)) throw new InputError(inputName, `${shown(host)} is not a host of the inventory; hosts: ${knownHosts.join(', ')}`, example());
    if (typeof path !== 'string' || !STORE_PATH.test(path)) {
      throw new InputError(inputName, `the path of ${host}, ${shown(JSON.stringify(path).replace(/^"|"$/g, ''))}, is not a store path`, example(host));
    }
    map.set(host, path);
  }
  return map;
}

/** A Nix string literal (JSON escapes are Nix escapes too; `${` must not interpolate). */
export function nixString(text: string): string {
  return JSON.stringify(text).replace(/\$\{/g, '\\${');
}

/**
 * The toplevel of each host at `flake` (`nixosConfigurations.<attribute>.config.system.build.toplevel`),
 * evaluated in one `nix eval` without building anything.
 */
export async function evaluateToplevels(nix: Nix, flake: string, hosts: readonly Pick<Host, 'name' | 'attribute'>[]): Promise<Map<string, string>> {
  if (hosts.length === 0) return new Map();
  const attributes = [...new Set(hosts.map((h) => h.attribute))];
  const apply = `configurations: builtins.listToAttrs (map (name: { inherit name; value = configurations.\${name}.config.system.build.toplevel.outPath; }) [ ${attributes.map(nixString).join(' ')} ])`;
  const paths = await nix.eval<Record<string, string>>(`${flake}#nixosConfigurations`, { apply });
  const result = new Map<string, string>();
  for (const host of hosts) {
    const path = paths[host.attribute];
    if (typeof path !== 'string') throw new UserError(`${flake}: nixosConfigurations.${host.attribute} has no toplevel`);
    result.set(host.name, path);
  }
  return result;
}

/**
 * The toplevels the hosts would get with `inventoryText` in place of the inventory file: a copy of
 * the flake directory (without `.git` and `result` links) with the edited file, evaluated as a
 * `path:` flake. Useful when the flake reads each wave's channel from the inventory; when it does
 * not, the paths come out unchanged, which is the truth too.
 */
export async function evaluateToplevelsWithInventory(
  nix: Nix,
  flakeDir: string,
  inventoryPathInFlake: string,
  inventoryText: string,
  hosts: readonly Pick<Host, 'name' | 'attribute'>[],
): Promise<Map<string, string>> {
  const copy = await mkdtemp(join(tmpdir(), 'fleet-advance-'));
  try {
    await cp(flakeDir, copy, { recursive: true, filter: (source) => !/^(\.git|result.*)$/.test(basename(source)) || source === flakeDir });
    await writeFile(join(copy, inventoryPathInFlake), inventoryText);
    return await evaluateToplevels(nix, `path:${copy}`, hosts);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
