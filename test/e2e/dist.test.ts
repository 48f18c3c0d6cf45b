import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '../support/harness.js';

const bundles = readdirSync(repoRoot).filter((d) => d.startsWith('action-') || d === 'cli').sort();
/** Every file under a dist folder, with its path inside it (a post step's bundle is in post/). */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();

describe('committed bundles', () => {
  it('match what the source builds', () => {
    const out = mkdtempSync(join(tmpdir(), 'fleet-dist-'));
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), out], { cwd: repoRoot, stdio: 'pipe' });
    const stale: string[] = [];
    for (const action of bundles) {
      const built = filesUnder(join(out, action, 'dist'));
      const committed = filesUnder(join(repoRoot, action, 'dist'));
      if (built.join() !== committed.join()) stale.push(`${action}/dist: files ${committed.join(', ')} but the build makes ${built.join(', ')}`);
      for (const file of built) {
        const fresh = readFileSync(join(out, action, 'dist', file));
        let old: Buffer | undefined;
        try {
          old = readFileSync(join(repoRoot, action, 'dist', file));
        } catch {
          old = undefined;
        }
        if (!old || !fresh.equals(old)) stale.push(`${action}/dist/${file}`);
      }
    }
    expect(stale).toEqual([]);
  }, 300_000);

  it('exist for the five actions and the command line', () => {
    expect(bundles).toEqual(['action-build', 'action-deploy', 'action-flake-bump', 'action-gc', 'action-upgrade-wave', 'cli']);
  });
});
