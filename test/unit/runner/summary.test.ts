import * as core from '@actions/core';
import { JobSummary } from '../../../src/runner/summary.js';

describe('JobSummary', () => {
  afterEach(() => {
    core.summary.emptyBuffer();
  });

  it('escapes plain cells, headings, details labels and code blocks: no tag from a host gets through', () => {
    new JobSummary()
      .heading('deploy <img src=x>')
      .table(['Host', 'Message'], [['web1', '<img src=https://evil/x.png> ![x](https://evil/x.png)']])
      .details('<b>2</b> failed', 'body')
      .code('</code></pre><img src=y>');
    const html = core.summary.stringify();
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain('<td>&lt;img src=https://evil/x.png&gt; ![x](https://evil/x.png)</td>');
    expect(html).toContain('<h2>deploy &lt;img src=x&gt;</h2>');
    expect(html).toContain('<summary>&lt;b&gt;2&lt;/b&gt; failed</summary>');
    expect(html).toContain('<pre><code>&lt;/code&gt;&lt;/pre&gt;&lt;img src=y&gt;</code></pre>');
  });

  it('writes an empty cell as a dash, so the cells after it stay in their columns', () => {
    new JobSummary().table(['Host', 'Store path', 'Closure'], [['broken', '', 0]]);
    expect(core.summary.stringify()).toContain('<tr><td>broken</td><td>—</td><td>0</td></tr>');
  });
});
