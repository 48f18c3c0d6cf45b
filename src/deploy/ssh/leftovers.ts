import { readFile, rm } from 'node:fs/promises';
import { basename, isAbsolute, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from '../../util/log.js';
import { agentSocketIn } from './agent.js';

/** What an ssh session leaves behind when its process is killed: its private directory and agent. */
export interface SshSessionRecord {
  dir: string;
  agentPid?: number;
}

/** mkdtemp's names for session directories (session.ts): nothing else is ever removed. */
const SESSION_DIR = /^fleet-ssh-[A-Za-z0-9]{6}$/;

export function parseSshSessionRecord(text: string): SshSessionRecord | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { dir, agentPid } = (value ?? {}) as { dir?: unknown; agentPid?: unknown };
  if (typeof dir !== 'string') return undefined;
  return { dir, ...(Number.isSafeInteger(agentPid) && (agentPid as number) > 1 ? { agentPid: agentPid as number } : {}) };
}

/**
 * Ends the session's agent (only if its pid still is that agent: pids are reused) and removes the
 * session's directory. Both may already be gone: the step that opened them closes them when it
 * is not killed.
 */
export async function cleanUpSshSession(record: SshSessionRecord, log: Log): Promise<void> {
  if (!isAbsolute(record.dir) || normalize(record.dir) !== record.dir || !SESSION_DIR.test(basename(record.dir))) {
    log.warning(`not cleaning up "${record.dir}": it is not an ssh session directory of fleet`);
    return;
  }
  if (record.agentPid !== undefined) {
    if (await isAgentOf(record.agentPid, record.dir)) {
      await endProcess(record.agentPid);
      log.info(`ended the ssh-agent (pid ${record.agentPid}) that the deploy left running`);
    } else if (await isRunning(record.agentPid)) {
      log.debug(`pid ${record.agentPid} is no longer the deploy's ssh-agent; left alone`);
    }
  }
  await rm(record.dir, { recursive: true, force: true });
}

/** True when `pid` runs `ssh-agent … -a DIR/agent.sock`, from /proc/PID/cmdline. */
async function isAgentOf(pid: number, dir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const argv = cmdline.split('\0');
  return basename(argv[0] ?? '') === 'ssh-agent' && argv.includes(agentSocketIn(dir));
}

/** Alive and not a zombie (an orphan's zombie lingers where pid 1 does not reap). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\S+ \(.*\) Z/s.test(stat);
}

/** SIGTERM (the agent removes its socket), then SIGKILL if it is still there after 5 s. */
async function endProcess(pid: number): Promise<void> {
  signal(pid, 'SIGTERM');
  for (let waited = 0; waited < 5000; waited += 50) {
    if (!(await isRunning(pid))) return;
    await sleep(50);
  }
  signal(pid, 'SIGKILL');
}

/** It may have exited since it was checked. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
