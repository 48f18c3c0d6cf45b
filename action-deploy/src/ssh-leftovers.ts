import { cleanUpSshSession, parseSshSessionRecord, type SshSessionRecord } from '../../src/deploy/ssh/leftovers.js';
import { actionLog, readState, saveState } from '../../src/runner/index.js';

const STATE = 'ssh-session';

/** Saved as the session comes up, so a post step still knows it after the main step is killed. */
export const recordSshLeftovers = (record: SshSessionRecord): void => saveState(STATE, JSON.stringify(record));

/** The post step: ends the ssh-agent holding the deploy key and removes the session's directory. */
export async function cleanUpSshLeftovers(): Promise<void> {
  const record = parseSshSessionRecord(readState(STATE));
  if (record) await cleanUpSshSession(record, actionLog);
}
