import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { readActionManifest, repoRoot } from '../../support/harness.js';

const actions = readdirSync(repoRoot).filter((d) => d.startsWith('action-')).sort();
// What scripts/build.mjs bundles each entry into.
const BUNDLE_OF = { 'src/index.ts': 'dist/index.js', 'src/post.ts': 'dist/post/index.js' };

const relativeImports = (file: string) =>
  ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'));

describe.each(actions)('%s', (action) => {
  const dir = join(repoRoot, action);

  it('runs the bundle of src/index.ts, and of src/post.ts for its post step', async () => {
    const { runs } = await readActionManifest(action);
    expect(runs.main).toBe(BUNDLE_OF['src/index.ts']);
    expect(runs.post).toBe(existsSync(join(dir, 'src', 'post.ts')) ? BUNDLE_OF['src/post.ts'] : undefined);
  });

  it('has an index.ts that only calls run() from main.ts', () => {
    expect(relativeImports(join(dir, 'src', 'index.ts'))).toEqual(['./main.js']);
  });

  it('has a main.ts that can be imported without running the action', async () => {
    const exitCode = process.exitCode;
    const main = (await import(join(dir, 'src', 'main.ts'))) as { run?: unknown };
    expect(typeof main.run).toBe('function');
    // A step that ran would have failed (no inputs) and set the exit code.
    expect(process.exitCode).toBe(exitCode);
  });
});
