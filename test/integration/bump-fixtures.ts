import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exec } from '../../src/util/exec.js';
import { offlineNixEnv } from '../support/nix.js';
import { startGitHubEmulator, type GitHubEmulator, type GitHubEmulatorOptions } from '../support/github/index.js';

// A fleet repository on the GitHub emulator whose flake has three local git inputs, like a real
// fleet's nixpkgs / tooling / a tool's own dependency:
//   pkgs    — package set: versions.json decides the versions of openssl and nginx;
//   tools   — a flake with its own lock: inputs `helper` (transitive for the fleet) and `pkgs`
//             (which the fleet makes follow its own `pkgs`);
//   helper  — provides a greeting the hosts write into their systems.

const AUTHOR = ['-c', 'user.name=Upstream Dev', '-c', 'user.email=dev@example.com'];

export const git = async (cwd: string, ...args: string[]): Promise<string> => (await exec('git', [...AUTHOR, ...args], { cwd })).stdout.trim();

const nix = (args: string[], cwd?: string) => exec('nix', args, { env: offlineNixEnv(), ...(cwd ? { cwd } : {}) });

/** A local git repository a flake input points at (`git+file://…`). */
export class Upstream {
  constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  get url(): string {
    return `git+file://${this.dir}`;
  }

  async write(files: Record<string, string>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(this.dir, path)), { recursive: true });
      await writeFile(join(this.dir, path), content);
    }
  }

  /** Writes files and commits them; returns the new revision. */
  async commit(files: Record<string, string>, message = 'update'): Promise<string> {
    await this.write(files);
    await git(this.dir, 'add', '-A');
    await git(this.dir, 'commit', '--quiet', '-m', message);
    return this.head();
  }

  head(): Promise<string> {
    return git(this.dir, 'rev-parse', 'HEAD');
  }
}

async function newUpstream(root: string, name: string, files: Record<string, string>): Promise<Upstream> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '--quiet', '--initial-branch=main');
  const upstream = new Upstream(name, dir);
  await upstream.commit(files, `${name}: initial`);
  return upstream;
}

export const pkgsFlake = `{
  outputs = { self }:
    let
      versions = builtins.fromJSON (builtins.readFile ./versions.json);
      mk = pname: version: builtins.derivation {
        name = "\${pname}-\${version}";
        system = "x86_64-linux";
        builder = "/bin/sh";
        PATH = "/usr/bin:/bin";
        args = [ "-c" "mkdir -p $out/share; echo \${pname} \${version} > $out/share/info; head -c \${toString (versions.sizes.\${pname} or 20000)} /dev/zero > $out/share/data" ];
      };
    in {
      packages = builtins.mapAttrs mk (builtins.removeAttrs versions [ "sizes" "broken" ]);
      broken = versions.broken or false;
    };
}
`;

export const versionsJson = (versions: Record<string, unknown>): string => `${JSON.stringify(versions, null, 2)}\n`;

const helperFlake = (greeting: string) => `{ outputs = { self }: { greeting = ${JSON.stringify(greeting)}; }; }\n`;

const toolsFlake = (helper: Upstream, pkgs: Upstream) => `{
  inputs.helper.url = "${helper.url}";
  inputs.pkgs.url = "${pkgs.url}";
  outputs = { self, helper, pkgs }: { motd = helper.greeting; };
}
`;

/** The fleet flake: two hosts whose systems link packages from `pkgs` and the motd from `tools`. */
export const fleetFlake = (u: Upstreams, options: { follows?: boolean } = {}) => `{
  inputs.pkgs.url = "${u.pkgs.url}";
  inputs.tools.url = "${u.tools.url}";
${options.follows === false ? '' : '  inputs.tools.inputs.pkgs.follows = "pkgs";\n'}
  outputs = { self, pkgs, tools }:
    let
      host = name: packages: {
        config.system.build.toplevel = builtins.derivation {
          name = "nixos-system-\${name}-24.11";
          system = "x86_64-linux";
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          motd = tools.motd;
          paths = map toString packages;
          args = [ "-c" "mkdir -p $out/sw; for p in $paths; do ln -s $p $out/sw/; done; echo $motd > $out/motd" ];
        };
      };
      p = pkgs.packages;
    in {
      nixosConfigurations = {
        web1 = host "web1" [ p.nginx p.openssl ];
        db1 = if pkgs.broken then throw "db1: this package set is broken" else host "db1" [ p.openssl ];
      };
    };
}
`;

export interface Upstreams {
  pkgs: Upstream;
  helper: Upstream;
  tools: Upstream;
}

/** Commits a new helper greeting and re-locks tools on it (a transitive change for the fleet). */
export async function bumpHelperThroughTools(u: Upstreams, greeting: string): Promise<void> {
  await u.helper.commit({ 'flake.nix': helperFlake(greeting) }, `helper: ${greeting}`);
  await nix(['flake', 'lock', '--update-input', 'helper', `path:${u.tools.dir}`]);
  await git(u.tools.dir, 'add', '-A');
  await git(u.tools.dir, 'commit', '--quiet', '-m', `tools: helper ${greeting}`);
}

export interface FleetRepo {
  root: string;
  gh: GitHubEmulator;
  upstreams: Upstreams;
  /** The job's checkout of main (a clone of the emulator's bare repository). */
  workspace: string;
  /** `git pull` in the workspace (after main moved). */
  pull(): Promise<void>;
  /** The flake.lock on a branch of the bare repository, parsed. */
  lockOn(branch: string): Promise<{ nodes: Record<string, { locked?: { rev?: string } }> }>;
  stop(): Promise<void>;
}

/**
 * Upstream repositories, a fleet flake locked on their first commits, committed to `main` of a
 * GitHub emulator, and a clone of it as the workspace.
 */
export async function createFleetRepo(options: GitHubEmulatorOptions & { follows?: boolean; subflakes?: string[] } = {}): Promise<FleetRepo> {
  const root = await mkdtemp(join(tmpdir(), 'fleet-bump-'));
  const pkgs = await newUpstream(root, 'pkgs', { 'flake.nix': pkgsFlake, 'versions.json': versionsJson({ openssl: '3.0.15', nginx: '1.26.2' }) });
  const helper = await newUpstream(root, 'helper', { 'flake.nix': helperFlake('hello v1') });
  const tools = await newUpstream(root, 'tools', { 'flake.nix': toolsFlake(helper, pkgs) });
  await nix(['flake', 'lock', `path:${tools.dir}`]);
  await git(tools.dir, 'add', '-A');
  await git(tools.dir, 'commit', '--quiet', '-m', 'tools: lock');
  const upstreams = { pkgs, helper, tools };

  // Lock the fleet flake once, outside any repository, to seed main with it.
  const seedDir = join(root, 'seed');
  await mkdir(seedDir);
  await writeFile(join(seedDir, 'flake.nix'), fleetFlake(upstreams, options));
  await nix(['flake', 'lock', `path:${seedDir}`]);
  const lock = await readFile(join(seedDir, 'flake.lock'), 'utf8');

  const { follows: _follows, subflakes = [], ...emulatorOptions } = options;
  // Further flakes in subdirectories (a repository with several fleets), locked the same way.
  const extraFiles = Object.fromEntries(subflakes.flatMap((dir) => [[`${dir}/flake.nix`, fleetFlake(upstreams, options)], [`${dir}/flake.lock`, lock]]));
  const gh = await startGitHubEmulator({
    owner: 'acme',
    repo: 'fleet',
    defaultBranch: 'main',
    initialFiles: { 'README.md': '# fleet\n', 'flake.nix': fleetFlake(upstreams, options), 'flake.lock': lock, ...extraFiles },
    ...emulatorOptions,
  });
  const workspace = join(root, 'workspace');
  await exec('git', ['clone', '--quiet', '--depth', '1', gh.cloneUrl, workspace]);
  return {
    root,
    gh,
    upstreams,
    workspace,
    pull: async () => {
      await git(workspace, 'pull', '--quiet', '--ff-only', 'origin', 'main');
    },
    lockOn: async (branch) => JSON.parse(await git(gh.bareRepo, 'show', `${branch}:flake.lock`)) as { nodes: Record<string, { locked?: { rev?: string } }> },
    stop: async () => {
      await gh.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
