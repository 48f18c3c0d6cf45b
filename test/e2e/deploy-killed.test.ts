import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { exec } from '../../src/util/exec.js';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';

// Stands in for ssh: records what the deploy gave it (environment, arguments, its own pid and its
// parent's, the main step), then hangs as a host that never answers would.
const STAND_IN_SSH = `#!/bin/sh
out=$(dirname "$0")
# The environment as ssh was started with (a shell drops names like INPUT_SSH-PRIVATE-KEY).
cat /proc/$$/environ > "$out/ssh.env"
printf '%s\\0' "$@" > "$out/ssh.args"
echo $$ > "$out/ssh.pid"
echo $PPID > "$out/ssh.ppid.tmp" && mv "$out/ssh.ppid.tmp" "$out/ssh.ppid"
exec sleep 300
`;

const RUNNER_TOKENS = {
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token-e2e',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/token?api-version=2.0',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token-e2e',
};

const readEnvironment = async (file: string) => (await readFile(file, 'utf8')).split('\0').filter(Boolean);
const argvOf = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);

/** Live ssh-agent processes whose socket is in `dir` (zombies have no cmdline). */
async function agentsIn(dir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const agents: number[] = [];
  for (const pid of pids) {
    const argv = await argvOf(pid);
    if (basename(argv[0] ?? '') === 'ssh-agent' && argv.some((a) => a.startsWith(`${dir}/`))) agents.push(pid);
  }
  return agents;
}

async function waitForFile(file: string, timeoutMs = 30_000): Promise<string> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(100)) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text) return text.trim();
  }
  throw new Error(`${file} did not appear within ${timeoutMs} ms`);
}

describe('action-deploy killed mid-deploy', () => {
  let work: string;
  let bin: string;
  let sshKey: string;
  let hostKey: string;
  const manifestKey = nixKeyPair('manifests-1').secret;
  const githubToken = 'ghs_e2eDeployTokenThatMustStayInTheAction';
  const leftovers: { dir?: string; pids: number[] } = { pids: [] };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-deploy-killed-'));
    bin = join(work, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'ssh'), STAND_IN_SSH);
    await chmod(join(bin, 'ssh'), 0o755);
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet-e2e', '-f', join(work, 'id')]);
    sshKey = await readFile(join(work, 'id'), 'utf8');
    // Any public key does as web1's: the stand-in ssh never checks it.
    hostKey = (await readFile(join(work, 'id.pub'), 'utf8')).trim();
    await rm(join(work, 'id'));
    await writeFile(
      join(work, 'fleet.yaml'),
      stringify({
        environments: { staging: { 'allowed-refs': ['refs/heads/**'] } },
        hosts: { web1: { environment: 'staging', deploy: { method: 'ssh', host: '127.0.0.1', port: 22, user: 'root' } } },
      }),
    );
  });

  afterAll(async () => {
    // Whatever a failing run left: the stand-in's sleep, and an agent that was never ended.
    for (const pid of leftovers.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (leftovers.dir) for (const pid of await agentsIn(leftovers.dir)) process.kill(pid, 'SIGKILL');
    if (leftovers.dir) await rm(leftovers.dir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('leaves no ssh-agent and no socket directory after the post step, and no child sees a secret', async () => {
    const running = runAction('action-deploy', {
      inputs: {
        inventory: join(work, 'fleet.yaml'),
        environment: 'staging',
        hosts: 'web1',
        'store-paths': JSON.stringify({ web1: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web1-24.11' }),
        'ssh-private-key': sshKey,
        'ssh-known-hosts': `127.0.0.1 ${hostKey}`,
        'manifest-signing-key': manifestKey,
        deployment: 'false',
      },
      githubToken,
      cwd: work,
      env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, ...RUNNER_TOKENS },
    });

    // The deploy is connecting to web1: its agent holds the key.
    const mainStep = Number(await waitForFile(join(bin, 'ssh.ppid')));
    leftovers.pids.push(Number(await waitForFile(join(bin, 'ssh.pid'))));
    const args = (await readFile(join(bin, 'ssh.args'), 'utf8')).split('\0');
    const sessionDir = dirname(args[args.indexOf('-F') + 1] as string);
    leftovers.dir = sessionDir;
    const [agent, ...others] = await agentsIn(sessionDir);
    expect(others).toEqual([]);
    const agentArgv = await argvOf(agent as number);
    expect(agentArgv[agentArgv.indexOf('-t') + 1]).toMatch(/^[1-9]\d*$/);

    // Neither ssh nor the agent got an input or a runner token in its environment.
    const secrets = [sshKey.split('\n')[1] as string, manifestKey, githubToken, ...Object.values(RUNNER_TOKENS)];
    for (const environment of [await readEnvironment(join(bin, 'ssh.env')), await readEnvironment(`/proc/${agent}/environ`)]) {
      expect(environment.filter((entry) => /^(INPUT_|ACTIONS_ID_TOKEN_REQUEST_|ACTIONS_RUNTIME_TOKEN)/i.test(entry))).toEqual([]);
      for (const secret of secrets) expect(environment.join('\n')).not.toContain(secret);
      expect(environment).toContainEqual(expect.stringMatching(/^PATH=/));
    }

    process.kill(mainStep, 'SIGKILL');
    const result = await running;
    expect(result.exitCode).not.toBe(0);
    expect(JSON.parse(result.state['ssh-session'] as string)).toEqual([{ dir: sessionDir, agentPid: agent }]);
    expect(result.post).toMatchObject({ exitCode: 0, stderr: '' });
    expect(result.post?.stdout).toContain(`ended the ssh-agent (pid ${agent}) that the deploy left running`);
    expect(await agentsIn(sessionDir)).toEqual([]);
    expect(existsSync(sessionDir)).toBe(false);
  }, 60_000);
});
