import { cleanUpSshSession, parseSshSessionRecord, type SshSessionRecord } from '../../src/deploy/ssh/leftovers.js';
import { actionLog, readState, saveState } from '../../src/runner/index.js';

const STATE = 'ssh-session';

/** Every session of this step (the deploy's, and the pull hosts' nudge), by directory. */
const sessions = new Map<string, SshSessionRecord>();

/** Saved as each session comes up, so a post step still knows them after the main step is killed. */
export const recordSshLeftovers = (record: SshSessionRecord): void => {
  sessions.set(record.dir, record);
  saveState(STATE, JSON.stringify([...sessions.values()]));
};

/** The post step: ends the ssh-agents holding the deploy key and removes the sessions' directories. */
export async function cleanUpSshLeftovers(): Promise<void> {
  const text = readState(STATE);
  if (!text) return;
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    return;
  }
  for (const item of Array.isArray(saved) ? saved : [saved]) {
    const record = parseSshSessionRecord(JSON.stringify(item));
    if (record) await cleanUpSshSession(record, actionLog);
  }
}
