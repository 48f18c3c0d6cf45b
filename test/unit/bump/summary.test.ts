import type { FlakeBumpOutcome } from '../../../src/bump/bump.js';
import { summaryTables } from '../../../src/bump/summary.js';

const outcome = (over: Partial<FlakeBumpOutcome> = {}): FlakeBumpOutcome => ({
  base: 'main',
  operation: 'unchanged',
  groups: [],
  changes: [],
  failedChecks: [],
  ...over,
});

describe('summaryTables', () => {
  it('says plainly when there is nothing to bump', () => {
    const tables = summaryTables(outcome({ groups: [{ group: 'all', branch: 'flake-bump', operation: 'unchanged', report: { group: 'all', requested: [], flakes: [] }, failedChecks: [], warnings: [] }] }));
    expect(tables.headline).toBe('Nothing to bump: every input is already at its latest revision on `main`.');
    expect(tables.outcome.rows).toEqual([['all', 'flake-bump', 'unchanged', '—']]);
    expect(tables.changes.rows).toEqual([]);
  });

  it('lists each group, each change and each check', () => {
    const tables = summaryTables(
      outcome({
        operation: 'created',
        groups: [
          {
            group: 'nixpkgs',
            branch: 'flake-bump-nixpkgs',
            operation: 'created',
            pullRequest: { number: 7, url: 'https://github.com/acme/fleet/pull/7' },
            report: { group: 'nixpkgs', requested: ['nixpkgs'], flakes: [{ flake: '.', lockPath: 'flake.lock', changes: [], unexpected: [], closures: [], checks: [{ kind: 'build', target: 'web1', ok: false, error: 'x' }] }] },
            failedChecks: [],
            warnings: [],
          },
        ],
        changes: [
          { group: 'nixpkgs', flake: '.', lockPath: 'flake.lock', path: ['nixpkgs'], name: 'nixpkgs', kind: 'updated', transitive: false, old: { locked: 'l', shortRev: 'aaaaaaa', date: '2024-11-01' }, new: { locked: 'l', shortRev: 'bbbbbbb', date: '2024-11-08' }, compareUrl: 'https://x/compare' },
          { group: 'nixpkgs', flake: '.', lockPath: 'flake.lock', path: ['a', 'b'], name: 'a/b', kind: 'follows', transitive: true, oldFollows: 'nixpkgs', new: { locked: 'github:o/b/c' } },
        ],
      }),
    );
    expect(tables.headline).toBe('2 input changes; nixpkgs: created #7.');
    expect(tables.outcome.rows).toEqual([['nixpkgs', 'flake-bump-nixpkgs', 'created', '#7 https://github.com/acme/fleet/pull/7']]);
    expect(tables.changes.rows).toEqual([
      ['nixpkgs', 'flake.lock', 'nixpkgs', 'updated', 'aaaaaaa (2024-11-01)', 'bbbbbbb (2024-11-08)', 'https://x/compare'],
      ['nixpkgs', 'flake.lock', 'a/b', 'follows', 'follows nixpkgs', 'github:o/b/c', '—'],
    ]);
    expect(tables.checks.rows).toEqual([['nixpkgs', 'build web1', 'failed']]);
  });
});
