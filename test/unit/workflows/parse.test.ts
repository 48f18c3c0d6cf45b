import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { repoRoot } from '../../support/harness.js';
import { repositoryWorkflows } from '../../support/workflows/files.js';

const workflows = repositoryWorkflows();

const actions = readdirSync(repoRoot)
  .filter((d) => d.startsWith('action-'))
  .map((d) => join(repoRoot, d, 'action.yml'));

function errorsOf(result: { context: { errors: { getErrors(): { message: string }[] } } }): string[] {
  return result.context.errors.getErrors().map((e) => e.message);
}

describe('GitHub parses', () => {
  it.each(actions.map((f) => [relative(repoRoot, f), f]))('%s', (_name, file) => {
    const result = parseAction({ name: file, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
    expect(errorsOf(result)).toEqual([]);
  });

  if (workflows.length > 0) {
    it.each(workflows.map((f) => [relative(repoRoot, f), f]))('%s', (_name, file) => {
      const result = parseWorkflow({ name: file, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
      expect(errorsOf(result)).toEqual([]);
    });
  }

  it('rejects a broken workflow (the check can fail)', () => {
    const result = parseWorkflow({ name: 'bad.yml', content: 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: x\n        run: y\n' }, new NoOperationTraceWriter());
    expect(errorsOf(result).length).toBeGreaterThan(0);
  });
});
