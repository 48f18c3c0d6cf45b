import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../../support/harness.js';

/**
 * Import cycles that exist today and are being removed, each as the files of its loop. Nothing
 * is to be added here: break the cycle instead. Drop an entry once its cycle is gone (a test
 * below fails until then).
 */
const SOURCE_ROOTS = ['src', 'cli/src', ...readdirSync(repoRoot).filter((d) => d.startsWith('action-')).map((d) => `${d}/src`)];

interface SourceFile {
  /** Repository-relative, like every path here. */
  path: string;
  /** Relative imports, resolved to the .ts file they load (`./x.js` is `./x.ts` under NodeNext). */
  local: string[];
  /** Bare specifiers: packages and node: modules. */
  packages: string[];
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)));
}

/** Static imports, type-only ones, re-exports, `import()` and `require()`, all as written. */
function readSourceFile(path: string): SourceFile {
  const specifiers = ts.preProcessFile(readFileSync(join(repoRoot, path), 'utf8'), true, true).importedFiles.map((f) => f.fileName);
  return {
    path,
    local: specifiers.filter((s) => s.startsWith('.')).map((s) => relative(repoRoot, resolve(repoRoot, dirname(path), s)).replace(/\.js$/, '.ts')),
    packages: specifiers.filter((s) => !s.startsWith('.')),
  };
}

const files = SOURCE_ROOTS.flatMap(tsFilesUnder).sort().map(readSourceFile);
const imports = new Map(files.map((f) => [f.path, f.local]));

/** The shortest loop of imports leading from `start` back to it, if there is one. */
function shortestCycleThrough(start: string): string[] | undefined {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of imports.get(at) ?? []) {
      if (next === start) {
        const loop = [at];
        while (loop[0] !== start) loop.unshift(cameFrom.get(loop[0] as string) as string);
        return loop;
      }
      if (!cameFrom.has(next) && imports.has(next)) {
        cameFrom.set(next, at);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** A loop written from its alphabetically first file, so the same loop always reads the same. */
function describeCycle(loop: readonly string[]): string {
  const first = loop.indexOf([...loop].sort()[0] as string);
  const rotated = [...loop.slice(first), ...loop.slice(0, first)];
  return [...rotated, rotated[0]].join(' → ');
}

const sourcesIn = (root: string) => files.filter((f) => f.path.startsWith(`${root}/`));

describe('module boundaries', () => {
  // Every file on a cycle has a shortest one, so this finds each file that is on any cycle.
  const cycles = [...new Set(files.map((f) => shortestCycleThrough(f.path)).filter((loop) => loop !== undefined).map(describeCycle))];

  it('parses the sources', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => f.local.length > 0).length).toBeGreaterThan(100);
  });

  it('have no import cycle', () => {
    expect(cycles).toEqual([]);
  });

  it('keep src/ free of imports from the actions and the cli', () => {
    const outward = sourcesIn('src').flatMap((f) => f.local.filter((target) => /^(action-[^/]+|cli)\//.test(target)).map((target) => `${f.path} imports ${target}`));
    expect(outward).toEqual([]);
  });

  it('let only src/runner import @actions/core', () => {
    const offenders = files.filter((f) => !f.path.startsWith('src/runner/') && f.packages.some((p) => p === '@actions/core' || p.startsWith('@actions/core/')));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  // ESLint bans the static imports; this also catches `import()` and `require()`.
  it('let only src/util/exec.ts start processes', () => {
    const offenders = files.filter((f) => f.path !== 'src/util/exec.ts' && f.packages.some((p) => p === 'child_process' || p === 'node:child_process'));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });
});
