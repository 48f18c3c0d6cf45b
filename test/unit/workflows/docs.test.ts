import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../support/harness.js';

const actions = readdirSync(repoRoot).filter((d) => d.startsWith('action-'));

describe('action READMEs', () => {
  it('document action.yml as it is (npm run docs regenerates the tables)', () => {
    expect(() => execFileSync(process.execPath, [join(repoRoot, 'scripts', 'docs.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it.each(actions)('%s lists every input and output', (action) => {
    const manifest = parse(readFileSync(join(repoRoot, action, 'action.yml'), 'utf8')) as { inputs?: object; outputs?: object };
    const readme = readFileSync(join(repoRoot, action, 'README.md'), 'utf8');
    const missing = [...Object.keys(manifest.inputs ?? {}), ...Object.keys(manifest.outputs ?? {})].filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });
});
