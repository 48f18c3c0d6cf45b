import { cell, code, fence, fitBlocks, tail } from '../../../src/bump/markdown.js';
import { commitUrl, compareUrl, formatFlakeRef, formatLockDate, forgeRepoOfGitUrl } from '../../../src/bump/flake-ref.js';
import { parseNixOptions } from '../../../src/bump/nix-options.js';
import { groupBranch } from '../../../src/bump/bump.js';

describe('markdown helpers', () => {
  it('keeps table cells on one row', () => {
    expect(cell('a|b\nc')).toBe('a\\|b c');
  });

  it('wraps code spans around backticks', () => {
    expect(code('x')).toBe('`x`');
    expect(code('a`b')).toBe('``a`b``');
    expect(code('`x')).toBe('`` `x ``');
  });

  it('fences text that contains fences', () => {
    expect(fence('a\n```\nb')).toBe('````\na\n```\nb\n````');
  });

  it('keeps the end of a long log, from a line start', () => {
    expect(tail('one\ntwo\nthree\nfour', 11)).toBe('…\nthree\nfour');
    expect(tail('short', 100)).toBe('short');
  });

  it('cuts the lowest priority items first and notes it under the block', () => {
    const { text, cut } = fitBlocks(
      [
        { head: 'HEAD', items: [], priority: 100 },
        { head: '| a |\n|---|', items: ['| 1 |', '| 2 |', '| 3 |'], priority: 50 },
        { items: ['x'.repeat(50), 'y'.repeat(50)], priority: 10, noun: 'details' },
      ],
      60,
      (n, noun) => `cut ${n} ${noun}`,
    );
    expect(text.length).toBeLessThanOrEqual(60);
    expect(text).toContain('HEAD');
    expect(text).toContain('cut 2 details');
    expect(text).not.toContain('xxxx');
    expect(cut).toBeGreaterThanOrEqual(2);
    // The note is a paragraph of its own, not a table row.
    expect(text).not.toMatch(/\|\ncut/);
  });

  it('hard-cuts text that no item removal can save', () => {
    const { text } = fitBlocks([{ head: 'z'.repeat(200), items: [], priority: 1 }], 100, () => 'cut');
    expect(text.length).toBeLessThanOrEqual(100);
    expect(text.endsWith('cut')).toBe(true);
  });
});

describe('flake references', () => {
  it('writes references the way users write them', () => {
    expect(formatFlakeRef({ type: 'github', owner: 'NixOS', repo: 'nixpkgs', ref: 'nixos-24.11' })).toBe('github:NixOS/nixpkgs/nixos-24.11');
    expect(formatFlakeRef({ type: 'git', url: 'https://example.org/x.git', ref: 'main', rev: 'abc' })).toBe('git+https://example.org/x.git?ref=main&rev=abc');
    expect(formatFlakeRef({ type: 'path', path: '/srv/flake' })).toBe('path:/srv/flake');
    expect(formatFlakeRef({ type: 'tarball', url: 'https://example.org/a.tar.gz' })).toBe('https://example.org/a.tar.gz');
    expect(formatFlakeRef({ type: 'indirect', id: 'nixpkgs' })).toBe('flake:nixpkgs');
    expect(formatFlakeRef({ type: 'github', owner: 'o', repo: 'r', host: 'ghe.example.com' })).toBe('github:o/r?host=ghe.example.com');
  });

  it('links GitHub Enterprise hosts and commits', () => {
    expect(compareUrl({ type: 'github', owner: 'o', repo: 'r', rev: 'a', host: 'ghe.corp' }, { type: 'github', owner: 'o', repo: 'r', rev: 'b', host: 'ghe.corp' })).toBe('https://ghe.corp/o/r/compare/a...b');
    expect(commitUrl({ type: 'gitlab', owner: 'g/sub', repo: 'p', rev: 'a' })).toBe('https://gitlab.com/g/sub/p/-/commit/a');
  });

  it('reads forge repositories from git URLs', () => {
    expect(forgeRepoOfGitUrl('git@github.com:NixOS/nixpkgs.git')).toEqual({ forge: 'github', host: 'github.com', owner: 'NixOS', repo: 'nixpkgs' });
    expect(forgeRepoOfGitUrl('ssh://git@gitlab.com/group/sub/proj.git')).toEqual({ forge: 'gitlab', host: 'gitlab.com', owner: 'group/sub', repo: 'proj' });
    expect(forgeRepoOfGitUrl('https://git.sr.ht/~sircmpwn/hare')).toEqual({ forge: 'sourcehut', host: 'git.sr.ht', owner: '~sircmpwn', repo: 'hare' });
    expect(forgeRepoOfGitUrl('file:///srv/repo')).toBeUndefined();
    expect(forgeRepoOfGitUrl('https://example.org/a/b')).toBeUndefined();
  });

  it('formats lock dates in UTC', () => {
    expect(formatLockDate(1730419200)).toBe('2024-11-01');
    expect(formatLockDate(undefined)).toBeUndefined();
  });
});

describe('nix-options', () => {
  it('reads name value pairs', () => {
    expect(parseNixOptions(['max-jobs 4', 'accept-flake-config   true'])).toEqual({ 'max-jobs': '4', 'accept-flake-config': 'true' });
  });

  it('names a line that is not a pair', () => {
    expect(() => parseNixOptions(['max-jobs'])).toThrow('"max-jobs" is not a "name value" pair');
  });

  it('refuses credentials on the command line', () => {
    expect(() => parseNixOptions(['access-tokens github.com=ghp_x'])).toThrow(/must not be given on the command line/);
  });
});

describe('groupBranch', () => {
  it('suffixes the branch with a safe form of the input name', () => {
    expect(groupBranch('flake-bump', 'nixpkgs')).toBe('flake-bump-nixpkgs');
    expect(groupBranch('flake-bump', 'home-manager/nixpkgs')).toBe('flake-bump-home-manager-nixpkgs');
  });
});
