import { parseHostState, type HostState } from './host-state.js';

/** An activation's state as the helper reports it (see helper-script.ts). */
export type ActivationState =
  | { phase: 'missing' | 'starting' | 'activating' | 'refused' | 'rebooted' }
  | { phase: 'activated' | 'done' | 'confirmed'; code: number }
  | { phase: 'rolling-back'; code: number; reason: RollbackReason }
  | { phase: 'rolled-back'; code: number; reason: RollbackReason; rollbackCode: number };

/** `abort`: the deployer asked for it; `timeout`: nobody confirmed within confirm-timeout. */
export type RollbackReason = 'abort' | 'timeout';

export interface WaitResult {
  state: ActivationState;
  /** The tail of the activation's log (switch-to-configuration's output, then the rollback's). */
  log: string;
  /** The host's state after the wait (`confirm` and `abort` print it). */
  host?: HostState;
}

export function parseActivationState(line: string): ActivationState {
  const [phase = '', ...rest] = line.trim().split(/\s+/);
  const num = (i: number) => {
    const n = Number(rest[i]);
    if (!Number.isInteger(n)) throw new Error(`unexpected activation state "${line}"`);
    return n;
  };
  const reason = (i: number): RollbackReason => (rest[i] === 'abort' ? 'abort' : 'timeout');
  switch (phase) {
    case 'missing':
    case 'starting':
    case 'activating':
    case 'refused':
    case 'rebooted':
      return { phase };
    case 'activated':
    case 'done':
    case 'confirmed':
      return { phase, code: num(0) };
    case 'rolling-back':
      return { phase, code: num(0), reason: reason(1) };
    case 'rolled-back':
      return { phase, code: num(0), reason: reason(1), rollbackCode: num(2) };
    default:
      throw new Error(`unexpected activation state "${line}"`);
  }
}

/** Parses `wait`/`confirm`/`abort` output: `state=LINE`, then maybe `--- host` and state lines, then maybe `--- log` and the log's tail. */
export function parseWaitOutput(text: string): WaitResult {
  const sections = splitSections(text);
  const stateLine = (sections.get('') ?? '').split('\n').find((l) => l.startsWith('state='));
  if (!stateLine) throw new Error(`the host's helper printed no state: ${text.trim().slice(0, 200) || '(nothing)'}`);
  const result: WaitResult = { state: parseActivationState(stateLine.slice('state='.length)), log: (sections.get('log') ?? '').trimEnd() };
  const host = sections.get('host');
  if (host !== undefined) result.host = parseHostState(host);
  return result;
}

/** Splits on `--- NAME` lines; the text before the first is section ''. The log comes last and may contain anything. */
function splitSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name = '';
  let lines: string[] = [];
  for (const line of text.split('\n')) {
    const header = name !== 'log' ? /^--- (host|log)$/.exec(line) : null;
    if (header) {
      sections.set(name, lines.join('\n'));
      name = header[1] as string;
      lines = [];
    } else {
      lines.push(line);
    }
  }
  sections.set(name, lines.join('\n'));
  return sections;
}

export type ActivationVerdict = 'ok' | 'degraded' | 'needs-reboot' | 'timed-out' | 'failed';

/**
 * switch-to-configuration's exit code: 0 fine, 4 some units failed (the system is active, but
 * degraded), 100 a reboot is needed to finish (e.g. a new kernel), 124/137 the helper's time
 * limit stopped it, anything else failed.
 */
export function classifyExitCode(code: number): ActivationVerdict {
  switch (code) {
    case 0:
      return 'ok';
    case 4:
      return 'degraded';
    case 100:
      return 'needs-reboot';
    case 124:
    case 137:
      return 'timed-out';
    default:
      return 'failed';
  }
}

/** Exit codes after which the activated system counts as running. */
export function activationSucceeded(code: number): boolean {
  const verdict = classifyExitCode(code);
  return verdict === 'ok' || verdict === 'degraded' || verdict === 'needs-reboot';
}

/** The last meaningful lines of a log, for a one-line message. */
export function logTail(log: string, lines = 3): string {
  return log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('fleet: '))
    .slice(-lines)
    .join(' / ');
}
