import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../support/harness.js';

// Security rule: cloud credentials live only in the memory of the process that asked for them.
// src/aws has no business with files, the environment, the console or @actions/core; a change
// that adds any of them must come with a reason strong enough to change this test.
const FORBIDDEN: [RegExp, string][] = [
  [/from ['"](node:)?fs(\/promises)?['"]/, 'file system access'],
  [/process\.env(\.\w+|\[[^\]]+\])\s*=(?!=)/, 'writes to process.env'],
  [/Object\.assign\(\s*process\.env/, 'writes to process.env'],
  [/from ['"]@actions\/core['"]|import\(['"]@actions\/core/, '@actions/core (only src/runner may use it)'],
  [/\bconsole\./, 'console output'],
  [/exportVariable|setOutput|GITHUB_ENV|GITHUB_OUTPUT/, 'runner file commands'],
];

test('src/aws never writes credentials anywhere but memory', async () => {
  const dir = join(repoRoot, 'src', 'aws');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(3);
  const problems: string[] = [];
  for (const file of files) {
    const source = await readFile(join(dir, file), 'utf8');
    for (const [pattern, what] of FORBIDDEN) if (pattern.test(source)) problems.push(`${file}: ${what}`);
  }
  expect(problems).toEqual([]);
});
