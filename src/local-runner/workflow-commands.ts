/**
 * How the GitHub runner reads workflow commands in a step's output (actions/runner,
 * `ActionCommand.TryParseV2`/`TryParse` and `ActionCommandManager`), so the local emulation obeys
 * exactly what the runner would, and nothing more.
 */

/** The commands the runner knows; a line naming any other is plain text. */
const RUNNER_COMMANDS: ReadonlySet<string> = new Set([
  'add-mask',
  'add-matcher',
  'add-path',
  'debug',
  'echo',
  'endgroup',
  'error',
  'group',
  'notice',
  'remove-matcher',
  'save-state',
  'set-env',
  'set-output',
  'stop-commands',
  'warning',
]);

export interface WorkflowCommand {
  /** Lower case (the runner matches names case-insensitively). */
  name: string;
  properties: Record<string, string>;
  data: string;
}

/** The reader's name for the `::TOKEN::` line that ends a stop-commands block. */
export const RESUME_COMMANDS = 'resume-commands';

/** Splits output into lines as the runner does (`\r\n`, `\n` or a lone `\r`). */
export function runnerLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

const decode = (text: string, pairs: readonly [string, string][]) => pairs.reduce((out, [code, char]) => out.split(code).join(char), text);
const DATA_CODES: [string, string][] = [
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%25', '%'],
];
const PROPERTY_CODES: [string, string][] = [
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%3A', ':'],
  ['%2C', ','],
  ['%25', '%'],
];
const LEGACY_CODES: [string, string][] = [
  ['%3B', ';'],
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%5D', ']'],
  ['%AZP25', '%'],
];

function commandOf(info: string, separator: string, known: ReadonlySet<string>, codes: [string, string][]): Omit<WorkflowCommand, 'data'> | undefined {
  const space = info.indexOf(' ');
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!known.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info.slice(space + 1).trim().split(separator).filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at > 0 && at < pair.length - 1) properties[pair.slice(0, at)] = decode(pair.slice(at + 1), codes);
    }
  }
  return { name, properties };
}

/** One line as a command: `::name k=v,…::data` after leading space, else `##[name k=v;…]data` anywhere. */
export function parseCommandLine(line: string, known: ReadonlySet<string> = RUNNER_COMMANDS): WorkflowCommand | undefined {
  const trimmed = line.replace(/^[\s\u0085]+/, '');
  if (trimmed.startsWith('::')) {
    const end = trimmed.indexOf('::', 2);
    const command = end < 0 ? undefined : commandOf(trimmed.slice(2, end), ',', known, PROPERTY_CODES);
    if (command) return { ...command, data: decode(trimmed.slice(end + 2), DATA_CODES) };
  }
  const prefix = line.indexOf('##[');
  const close = prefix < 0 ? -1 : line.indexOf(']', prefix);
  const legacy = close < 0 ? undefined : commandOf(line.slice(prefix + 3, close), ';', known, LEGACY_CODES);
  return legacy ? { ...legacy, data: decode(line.slice(close + 1), LEGACY_CODES) } : undefined;
}

/**
 * Reads a step's output line by line as the runner does. `read` gives the command a line issues,
 * or undefined for text. After `::stop-commands::TOKEN` every line is text until `::TOKEN::`
 * (given back as `resume-commands`); an empty token never resumes, as in the runner.
 */
export class WorkflowCommandReader {
  private stopToken: string | undefined;

  read(line: string): WorkflowCommand | undefined {
    if (this.stopToken !== undefined) {
      const token = this.stopToken.toLowerCase();
      if (!token || parseCommandLine(line, new Set([...RUNNER_COMMANDS, token]))?.name !== token) return undefined;
      this.stopToken = undefined;
      return { name: RESUME_COMMANDS, properties: {}, data: token };
    }
    const command = parseCommandLine(line);
    if (command?.name === 'stop-commands') this.stopToken = command.data;
    return command;
  }
}

/** Every command the runner would obey in `output`, in order (stop and resume lines included). */
export function workflowCommands(output: string): WorkflowCommand[] {
  const reader = new WorkflowCommandReader();
  return runnerLines(output).flatMap((line) => reader.read(line) ?? []);
}
