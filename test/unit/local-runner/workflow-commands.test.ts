import { WorkflowCommandPrinter } from '../../../src/local-runner/terminal.js';
import { parseCommandLine, runnerLines, WorkflowCommandReader, workflowCommands } from '../../../src/local-runner/workflow-commands.js';

describe('parseCommandLine (as the runner reads a line)', () => {
  it('reads ::name props::data after leading space, names in any case', () => {
    expect(parseCommandLine('::error file=a.nix,line=3::bad%0Aworse')).toEqual({ name: 'error', properties: { file: 'a.nix', line: '3' }, data: 'bad\nworse' });
    expect(parseCommandLine('   ::ADD-MASK::hunter2')).toMatchObject({ name: 'add-mask', data: 'hunter2' });
    expect(parseCommandLine('::set-output name=x%3Ay::v')).toMatchObject({ name: 'set-output', properties: { name: 'x:y' }, data: 'v' });
  });

  it('reads the old ##[name]data form anywhere in a line', () => {
    expect(parseCommandLine('trace: ##[error]owned')).toMatchObject({ name: 'error', data: 'owned' });
    expect(parseCommandLine('> ##[set-output name=a;]b')).toMatchObject({ name: 'set-output', properties: { name: 'a' }, data: 'b' });
  });

  it('leaves text and unknown commands alone', () => {
    expect(parseCommandLine('trace: ::error::x')).toBeUndefined();
    expect(parseCommandLine('::nonsense::x')).toBeUndefined();
    expect(parseCommandLine('::error')).toBeUndefined();
  });

  it('splits lines on CR as well as LF', () => {
    expect(runnerLines('a\r::error::x\r\nb\n')).toEqual(['a', '::error::x', 'b', '']);
    expect(workflowCommands('progress 10%\r::error::x').map((c) => c.name)).toEqual(['error']);
  });
});

describe('WorkflowCommandReader', () => {
  it('obeys nothing between ::stop-commands::TOKEN and ::TOKEN::, then resumes', () => {
    const output = ['::stop-commands::t0k3n', '::error::quoted', '##[add-mask]quoted', '::stop-commands::other', '::other::', '::T0K3N::', '::warning::after'].join('\n');
    expect(workflowCommands(output).map((c) => [c.name, c.data])).toEqual([
      ['stop-commands', 't0k3n'],
      ['resume-commands', 't0k3n'],
      ['warning', 'after'],
    ]);
  });

  it('never resumes after an empty token, as the runner', () => {
    const reader = new WorkflowCommandReader();
    expect(reader.read('::stop-commands::')?.name).toBe('stop-commands');
    expect(reader.read('::::')).toBeUndefined();
    expect(reader.read('::error::x')).toBeUndefined();
  });
});

describe('WorkflowCommandPrinter', () => {
  it('shows a stopped block as text: no annotation, no mask, the lines as they are', () => {
    const out: string[] = [];
    const printer = new WorkflowCommandPrinter((text) => out.push(text));
    printer.push('::add-mask::hunter2\nkey hunter2\n::stop-commands::abc\n::add-mask::visible\n::error::quoted\r\n');
    printer.push('visible\n::abc::\n::error::real\n::group::Build');
    printer.flush();
    expect(out.join('')).toBe('key ***\n::add-mask::visible\n::error::quoted\nvisible\nerror: real\n── Build\n');
  });
});
