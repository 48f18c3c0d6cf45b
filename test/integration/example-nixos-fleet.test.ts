/**
 * examples/nixos-fleet, the flake users copy: it needs nixpkgs, which is not reachable here, so it
 * is checked as far as can be without it: every Nix file parses, the inventory passes the schema,
 * the inventory and hosts/ name the same hosts, and the pull host configures the real agent module.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInventoryText } from '../../src/fleet/inventory.js';
import { exec } from '../../src/util/exec.js';

const DIR = join(import.meta.dirname, '../../examples/nixos-fleet');
const nixFiles = ['flake.nix', ...readdirSync(join(DIR, 'hosts')).map((f) => `hosts/${f}`)];

it.each(nixFiles)('%s parses', async (file) => {
  const result = await exec('nix-instantiate', ['--parse', join(DIR, file)], { allowFailure: true });
  expect({ file, code: result.code, stderr: result.stderr }).toEqual({ file, code: 0, stderr: '' });
});

it('has an inventory whose hosts are the flake hosts, one hosts/NAME.nix each', () => {
  const inventory = parseInventoryText(readFileSync(join(DIR, 'fleet.yaml'), 'utf8'), 'fleet.yaml');
  const hostFiles = readdirSync(join(DIR, 'hosts')).filter((f) => f !== 'common.nix').map((f) => f.replace(/\.nix$/, ''));
  expect(Object.values(inventory.hosts).map((h) => h.attribute).sort()).toEqual(hostFiles.sort());
  expect(new Set(Object.values(inventory.hosts).map((h) => h.deploy.method))).toEqual(new Set(['ssh', 'pull', 'aws-asg']));
});

it('imports the agent module from the fleet input, and sets only options the module has', () => {
  const flake = readFileSync(join(DIR, 'flake.nix'), 'utf8');
  expect(flake).toContain('"${fleet}/host/nixos/fleet-agent.nix"');
  const module = readFileSync(join(import.meta.dirname, '../../host/nixos/fleet-agent.nix'), 'utf8');
  const options = new Set([...module.matchAll(/^ {4}([A-Za-z]+) = mk(?:Enable)?Option/gm)].map((m) => m[1]));
  const clinic = readFileSync(join(DIR, 'hosts/clinic-kin.nix'), 'utf8');
  const block = /services\.fleet-agent = \{([\s\S]*?)\n {2}\};/.exec(clinic)?.[1] ?? '';
  const used = [...block.matchAll(/^ {4}([A-Za-z]+)[.=\s]/gm)].map((m) => m[1] as string);
  expect(used.length).toBeGreaterThan(5);
  expect(used.filter((o) => !options.has(o))).toEqual([]);
});
