import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Host } from '../../../src/fleet/types.js';
import { exec } from '../../../src/util/exec.js';
import { copyExampleFleet, EXAMPLE_FLEET_HOSTS } from '../example-fleet.js';

const GIT_IDENTITY = ['-c', 'user.name=Fleet Operator', '-c', 'user.email=ops@example.org'];

/** A user's fleet repository, checked out: the example flake cut down to their hosts, their inventory, their CI. */
export interface FleetRepository {
  dir: string;
  /** Writes `variant` (the next generation of every host), commits, pushes `branch` to the remote; returns the commit. */
  commitVariant(variant: string, branch: string): Promise<string>;
  /** Writes `files` (path → content), commits, pushes `branch`; returns the commit. */
  commitFiles(files: Record<string, string>, branch: string): Promise<string>;
}

/** A host as fleet.yaml spells it (the AWS targets' keys are kebab-case there). */
function inventoryEntry({ name: _name, ...host }: Host): object {
  const { deploy } = host;
  if (deploy.method === 'aws-asg') return { ...host, deploy: { method: deploy.method, 'auto-scaling-group': deploy.autoScalingGroup, 'launch-template': deploy.launchTemplate, ...(deploy.region ? { region: deploy.region } : {}) } };
  if (deploy.method === 'aws-ssm') {
    const { instanceIds, ...rest } = deploy;
    return { ...host, deploy: { ...rest, ...(instanceIds ? { 'instance-ids': instanceIds } : {}) } };
  }
  if (deploy.method === 'pull' && deploy.ssh) {
    const { method: _method, ...ssh } = deploy.ssh;
    return { ...host, deploy: { method: 'pull', ssh } };
  }
  return host;
}

/** examples/offline-fleet's flake.nix with only `hosts` in its host table. */
function keepHosts(flake: string, hosts: readonly string[]): string {
  const dropped = EXAMPLE_FLEET_HOSTS.filter((h) => !hosts.includes(h));
  const kept = flake
    .split('\n')
    .filter((line) => !dropped.some((h) => new RegExp(`^\\s*${h} = \\{ packages`).test(line)))
    .join('\n');
  const remaining = EXAMPLE_FLEET_HOSTS.filter((h) => new RegExp(`^\\s*${h} = \\{ packages`, 'm').test(kept));
  if (remaining.join() !== EXAMPLE_FLEET_HOSTS.filter((h) => hosts.includes(h)).join()) throw new Error(`could not cut examples/offline-fleet/flake.nix down to ${hosts.join(', ')} (left: ${remaining.join(', ')})`);
  return kept;
}

/**
 * Makes the repository (a git clone whose `origin` is `remote`, e.g. the GitHub emulator's bare
 * repository) with the caller workflow at .github/workflows/fleet.yml, and pushes `main` at variant "1".
 */
export async function createFleetRepository(options: {
  remote: string;
  hosts: readonly Host[];
  environments: Record<string, object>;
  /** The inventory's upgrade waves (name → order, soak, quorum, channel), if the fleet has any. */
  waves?: Record<string, object>;
  callerWorkflow: string;
}): Promise<FleetRepository> {
  const dir = await copyExampleFleet('journey');
  const flake = join(dir, 'flake.nix');
  await writeFile(flake, keepHosts(await readFile(flake, 'utf8'), options.hosts.map((h) => h.attribute ?? h.name)));
  const hosts = Object.fromEntries(options.hosts.map((host) => [host.name, inventoryEntry(host)]));
  await writeFile(join(dir, 'fleet.yaml'), stringify({ environments: options.environments, ...(options.waves ? { waves: options.waves } : {}), hosts }));
  await mkdir(join(dir, '.github', 'workflows'), { recursive: true });
  await copyFile(options.callerWorkflow, join(dir, '.github', 'workflows', 'fleet.yml'));
  const git = (...args: string[]) => exec('git', [...GIT_IDENTITY, '-C', dir, ...args]);
  await git('init', '--quiet', '--initial-branch', 'main');
  await git('remote', 'add', 'origin', options.remote);
  const commitFiles = async (files: Record<string, string>, branch: string, message = `${branch}: ${Object.keys(files).join(', ')}`): Promise<string> => {
    const current = (await git('rev-parse', '--abbrev-ref', 'HEAD').catch(() => ({ stdout: 'main' }))).stdout.trim();
    if (current !== branch) {
      const exists = (await exec('git', ['-C', dir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { allowFailure: true })).code === 0;
      // A new branch starts from the default branch, as a pull request's would.
      await git('checkout', '--quiet', ...(exists ? [branch] : ['-b', branch, 'main']));
    }
    for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
    await git('add', '--all');
    await git('commit', '--quiet', '--allow-empty', '-m', message);
    await git('push', '--quiet', '--force', 'origin', `${branch}:refs/heads/${branch}`);
    return (await git('rev-parse', 'HEAD')).stdout.trim();
  };
  const commitVariant = (variant: string, branch: string): Promise<string> => commitFiles({ 'variant.txt': `${variant}\n` }, branch, `${branch}: variant ${variant}`);
  await commitVariant('1', 'main');
  return { dir, commitVariant, commitFiles: (files, branch) => commitFiles(files, branch) };
}
