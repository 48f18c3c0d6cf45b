import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateCheckedOutFlake } from '../../src/bump/flake-source.js';
import { exec } from '../../src/util/exec.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fleet-flake-path-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function checkout(dir: string): Promise<string> {
  await mkdir(join(dir, 'fleets', 'edge'), { recursive: true });
  await writeFile(join(dir, 'flake.nix'), '{ outputs = _: { }; }\n');
  await exec('git', ['init', '--quiet', dir]);
  return dir;
}

describe('the path input of flake-bump', () => {
  it('accepts the checkout in the workspace and folders of it', async () => {
    const workspace = await checkout(join(root, 'plain'));
    expect(await locateCheckedOutFlake('.', workspace)).toMatchObject({ repoRoot: workspace, lockPath: 'flake.lock' });
    expect(await locateCheckedOutFlake('fleets/edge', workspace)).toMatchObject({ repoRoot: workspace, lockPath: 'fleets/edge/flake.lock' });
  });

  it('accepts a checkout in a folder of a workspace that is no checkout itself (actions/checkout with path:)', async () => {
    const workspace = join(root, 'runner-work');
    const repo = await checkout(join(workspace, 'src'));
    expect(await locateCheckedOutFlake('src/fleets/edge', workspace)).toMatchObject({ repoRoot: repo, lockPath: 'fleets/edge/flake.lock' });
  });

  it('refuses folders outside the workspace, however they are named', async () => {
    const workspace = await checkout(join(root, 'ws'));
    const elsewhere = await checkout(join(root, 'elsewhere'));
    await symlink(elsewhere, join(workspace, 'link'));
    for (const path of [elsewhere, '../elsewhere', 'link', 'link/fleets/edge']) {
      await expect(locateCheckedOutFlake(path, workspace)).rejects.toThrow(`Input "path": "${path}" resolves to ${elsewhere}`);
    }
    await expect(locateCheckedOutFlake('..', workspace)).rejects.toThrow(`outside the workspace ${workspace} (GITHUB_WORKSPACE)`);
  });

  it('refuses another repository checked out inside the workspace', async () => {
    const workspace = await checkout(join(root, 'outer'));
    const inner = await checkout(join(workspace, 'vendor', 'other'));
    await expect(locateCheckedOutFlake('vendor/other', workspace)).rejects.toThrow(`Input "path": "vendor/other" (${inner}) belongs to the git checkout at ${inner}, not to the repository checked out in the workspace (${workspace})`);
  });

  it('refuses a folder that is in no checkout', async () => {
    const workspace = join(root, 'no-checkout');
    await mkdir(join(workspace, 'flake'), { recursive: true });
    await expect(locateCheckedOutFlake('flake', workspace)).rejects.toThrow(`Input "path": "flake" (${join(workspace, 'flake')}) is not in a git checkout`);
  });

  it('names a folder that does not exist, or a file', async () => {
    const workspace = await checkout(join(root, 'missing'));
    await expect(locateCheckedOutFlake('fleets/nope', workspace)).rejects.toThrow(`Input "path": "fleets/nope" does not exist (looked for ${join(workspace, 'fleets', 'nope')}). Give a folder of the checked-out repository. Example: path: .`);
    await expect(locateCheckedOutFlake('flake.nix', workspace)).rejects.toThrow(`Input "path": "flake.nix" is not a folder`);
  });
});
