import { jest } from '@jest/globals';
import { workflowCommands } from '../../../src/local-runner/workflow-commands.js';
import { actionLog } from '../../../src/runner/log.js';
import { mayCarryWorkflowCommand, newStopToken, quoteForRunner } from '../../../src/runner/stop-commands.js';

const HOSTILE = ['trace: fleet', '::error::owned', '  ::add-mask::secret', '::set-output name=store-paths::owned', 'note ##[warning]old form', '::stop-commands::mine', '::mine::'].join('\n');

/** What actionLog writes to stdout while `body` runs. */
function stdoutOf(body: () => void): string {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    body();
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

const obeyed = (output: string) => workflowCommands(output).filter((c) => c.name !== 'stop-commands' && c.name !== 'resume-commands');

describe('quoteForRunner', () => {
  it('wraps the text between ::stop-commands::TOKEN and ::TOKEN::, so the runner obeys none of it', () => {
    const quoted = quoteForRunner(HOSTILE);
    const lines = quoted.split('\n');
    const token = (lines[0] as string).replace('::stop-commands::', '');
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.at(-1)).toBe(`::${token}::`);
    expect(lines.slice(1, -1).join('\n')).toBe(HOSTILE);
    expect(obeyed(quoted)).toEqual([]);
    expect(workflowCommands(quoted).map((c) => c.name)).toEqual(['stop-commands', 'resume-commands']);
  });

  it('uses a new token every time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => newStopToken()));
    expect(tokens.size).toBe(50);
    expect(quoteForRunner('x').split('\n')[0]).not.toBe(quoteForRunner('x').split('\n')[0]);
  });

  it('never picks a token the text holds (in any case)', () => {
    const tokens = ['ABC', 'def'];
    const quoted = quoteForRunner('::abc::\n::error::owned', () => tokens.shift() as string);
    expect(quoted.split('\n')[0]).toBe('::stop-commands::def');
    expect(obeyed(quoted)).toEqual([]);
  });

  it('treats any line with :: or ##[ as one that may carry a command', () => {
    expect(mayCarryWorkflowCommand('copied 3 paths')).toBe(false);
    expect(mayCarryWorkflowCommand('[web1] \t::error::x')).toBe(true);
    expect(mayCarryWorkflowCommand('a\r##[error]x')).toBe(true);
  });
});

describe('actionLog', () => {
  it('prints quoted text inside a stop-commands block: visible, not obeyed', () => {
    const output = stdoutOf(() => actionLog.quoted(HOSTILE));
    expect(output).toContain('::error::owned');
    expect(obeyed(output)).toEqual([]);
  });

  it('quotes an info message that could carry a command, and leaves a plain one as it is', () => {
    expect(stdoutOf(() => actionLog.info('copied the closure in 2s'))).toBe('copied the closure in 2s\n');
    const output = stdoutOf(() => actionLog.info(`could not start the activation: ${HOSTILE}`));
    expect(output).toContain('::add-mask::secret');
    expect(obeyed(output)).toEqual([]);
  });

  it("keeps fleet's own commands working, outside any block, with hostile text as their data", () => {
    const output = stdoutOf(() => {
      actionLog.quoted(HOSTILE);
      actionLog.error(`web1: ${HOSTILE}`, { title: 'web1 failed' });
      actionLog.warning('careful');
      actionLog.secret('hunter2');
    });
    expect(obeyed(output).map((c) => [c.name, c.data])).toEqual([
      ['error', `web1: ${HOSTILE}`],
      ['warning', 'careful'],
      ['add-mask', 'hunter2'],
    ]);
  });
});
