import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanUpSshSession, type SshSessionRecord } from '../../src/deploy/ssh/leftovers.js';
import { SshSession } from '../../src/deploy/ssh/session.js';
import { exec, spawnProcess } from '../../src/util/exec.js';
import { memoryLog } from '../../src/util/log.js';

let privateKey: string;
const sessions: SshSession[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-key-'));
  try {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    privateKey = await readFile(join(dir, 'id'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

async function openSession(keyLifetimeSeconds: number): Promise<{ session: SshSession; records: SshSessionRecord[] }> {
  const records: SshSessionRecord[] = [];
  const session = await SshSession.open({ privateKey, keyLifetimeSeconds, onLeftovers: (r) => records.push(r) });
  sessions.push(session);
  return { session, records };
}

const argvOf = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
/** Alive and not a zombie. */
const isRunning = async (pid: number) => !/^\S+ \(.*\) Z/s.test((await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '0 (gone) Z')));
const keysIn = async (dir: string) => (await exec('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: join(dir, 'agent.sock') }, allowFailure: true })).stdout;

describe('the deploy key in its ssh-agent', () => {
  it('is loaded with a lifetime (-t), and the session tells where its agent and directory are', async () => {
    const { session, records } = await openSession(1200);
    const dir = dirname(session.configFile);
    const agentPid = records.at(-1)?.agentPid as number;
    expect(records).toEqual([{ dir }, { dir, agentPid: expect.any(Number) }]);
    expect(await argvOf(agentPid)).toEqual(['ssh-agent', '-D', '-a', join(dir, 'agent.sock'), '-t', '1200']);

    await session.close();
    expect(await isRunning(agentPid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('stays loaded past its lifetime while the session lives: the key is refreshed', async () => {
    const { session } = await openSession(2);
    const dir = dirname(session.configFile);
    await sleep(4500);
    expect(await keysIn(dir)).toContain('ED25519');
    await session.close();
  });
});

describe('cleaning up what a killed deploy left', () => {
  it('ends the agent by its pid and removes the directory', async () => {
    const { session, records } = await openSession(1200);
    const record = records.at(-1) as SshSessionRecord;
    const log = memoryLog();
    await cleanUpSshSession(record, log);
    expect(await isRunning(record.agentPid as number)).toBe(false);
    expect(existsSync(record.dir)).toBe(false);
    expect(log.lines).toEqual([`ended the ssh-agent (pid ${record.agentPid}) that the deploy left running`]);
    // The main step, had it not been killed, would close the session after that: still fine.
    await session.close();
  });

  it('leaves alone a pid that is no longer the agent of that directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-ssh-'));
    const other = spawnProcess('sleep', ['30']);
    other.stdin.end();
    try {
      await cleanUpSshSession({ dir, agentPid: other.pid as number }, memoryLog());
      expect(await isRunning(other.pid as number)).toBe(true);
      expect(existsSync(dir)).toBe(false);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('removes nothing but a session directory of its own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'not-fleet-'));
    try {
      const log = memoryLog();
      await cleanUpSshSession({ dir }, log);
      await cleanUpSshSession({ dir: `${tmpdir()}/fleet-ssh-abcdef/../..` }, log);
      expect(existsSync(dir)).toBe(true);
      expect(log.lines).toEqual([expect.stringContaining(`not cleaning up "${dir}"`), expect.stringContaining('not cleaning up')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
