import { parseFlakeLock, type FlakeLock } from '../../../src/nix/index.js';
import { diffLocks, directInputNames, lockEntries, unexpectedChanges } from '../../../src/bump/lock-diff.js';

const REV = (n: number) => String(n).repeat(40).slice(0, 40);

function github(owner: string, repo: string, rev: string, lastModified: number, ref?: string) {
  return {
    locked: { type: 'github', owner, repo, rev, lastModified, narHash: `sha256-${rev.slice(0, 8)}` },
    original: { type: 'github', owner, repo, ...(ref ? { ref } : {}) },
  };
}

/** A lock like a real fleet's: nixpkgs, home-manager following nixpkgs, a transitive flake-utils. */
function fleetLock(opts: { nixpkgs: string; hm: string; utils: string; hmFollows?: boolean; extra?: boolean }): FlakeLock {
  const nodes: Record<string, unknown> = {
    root: { inputs: { nixpkgs: 'nixpkgs', 'home-manager': 'home-manager', ...(opts.extra ? { agenix: 'agenix' } : {}) } },
    nixpkgs: github('NixOS', 'nixpkgs', opts.nixpkgs, 1730419200, 'nixos-24.11'),
    'home-manager': {
      inputs: { nixpkgs: opts.hmFollows === false ? 'nixpkgs_2' : ['nixpkgs'], utils: 'flake-utils' },
      ...github('nix-community', 'home-manager', opts.hm, 1730505600),
    },
    'flake-utils': github('numtide', 'flake-utils', opts.utils, 1726560000),
  };
  if (opts.hmFollows === false) nodes.nixpkgs_2 = github('NixOS', 'nixpkgs', REV(9), 1720000000, 'nixos-unstable');
  if (opts.extra) nodes.agenix = github('ryantm', 'agenix', REV(7), 1725000000);
  return parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes }));
}

describe('lockEntries', () => {
  it('keys every reachable input by its path, with follows kept as follows', () => {
    const entries = lockEntries(fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) }));
    expect([...entries.keys()].sort()).toEqual(['home-manager', 'home-manager/nixpkgs', 'home-manager/utils', 'nixpkgs']);
    expect(entries.get('home-manager/nixpkgs')).toEqual({ follows: ['nixpkgs'] });
  });

  it('stops at cycles', () => {
    const lock = parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: { a: 'a' } }, a: { inputs: { b: 'b' }, locked: { type: 'path', path: '/a' } }, b: { inputs: { a: 'a' }, locked: { type: 'path', path: '/b' } } } }));
    expect([...lockEntries(lock).keys()]).toEqual(['a', 'a/b', 'a/b/a']);
  });
});

describe('diffLocks', () => {
  it('reports nothing for identical pins, even under other node names', () => {
    const a = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) });
    const renamed = structuredClone(a);
    renamed.nodes['nixpkgs-renamed'] = renamed.nodes.nixpkgs as never;
    delete renamed.nodes.nixpkgs;
    (renamed.nodes.root as { inputs: Record<string, string> }).inputs.nixpkgs = 'nixpkgs-renamed';
    expect(diffLocks(a, renamed)).toEqual([]);
  });

  it('lists updated inputs with revisions, dates and a GitHub compare link, direct before transitive', () => {
    const before = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) });
    const after = fleetLock({ nixpkgs: REV(4), hm: REV(2), utils: REV(5) });
    after.nodes.nixpkgs!.locked!.lastModified = 1731024000;
    const changes = diffLocks(before, after);
    expect(changes.map((c) => [c.name, c.kind, c.transitive])).toEqual([
      ['nixpkgs', 'updated', false],
      ['home-manager/utils', 'updated', true],
    ]);
    const nixpkgs = changes[0]!;
    expect(nixpkgs.old).toMatchObject({ rev: REV(1), shortRev: REV(1).slice(0, 7), date: '2024-11-01', original: 'github:NixOS/nixpkgs/nixos-24.11' });
    expect(nixpkgs.new).toMatchObject({ rev: REV(4), date: '2024-11-08', locked: `github:NixOS/nixpkgs/${REV(4)}` });
    expect(nixpkgs.compareUrl).toBe(`https://github.com/NixOS/nixpkgs/compare/${REV(1)}...${REV(4)}`);
    expect(changes[1]!.compareUrl).toBe(`https://github.com/numtide/flake-utils/compare/${REV(3)}...${REV(5)}`);
  });

  it('reports an input that stops following, and one that starts', () => {
    const following = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) });
    const own = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3), hmFollows: false });
    const [stop] = diffLocks(following, own);
    expect(stop).toMatchObject({ name: 'home-manager/nixpkgs', kind: 'follows', oldFollows: 'nixpkgs', transitive: true, new: { rev: REV(9), original: 'github:NixOS/nixpkgs/nixos-unstable' } });
    expect(stop!.newFollows).toBeUndefined();
    const [start] = diffLocks(own, following);
    expect(start).toMatchObject({ kind: 'follows', newFollows: 'nixpkgs', old: { rev: REV(9) } });
  });

  it('reports a follows target that changes', () => {
    const lock = (target: string[]) =>
      parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: { a: 'a', b: 'b', c: 'c' } }, a: github('o', 'a', REV(1), 1), b: github('o', 'b', REV(2), 1), c: { inputs: { dep: target }, ...github('o', 'c', REV(3), 1) } } }));
    expect(diffLocks(lock(['a']), lock(['b']))).toEqual([{ path: ['c', 'dep'], name: 'c/dep', kind: 'follows', transitive: true, oldFollows: 'a', newFollows: 'b' }]);
  });

  it('lists added and removed inputs, with what they pinned', () => {
    const before = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) });
    const after = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3), extra: true });
    expect(diffLocks(before, after)).toEqual([expect.objectContaining({ name: 'agenix', kind: 'added', new: expect.objectContaining({ rev: REV(7) }) })]);
    expect(diffLocks(after, before)).toEqual([expect.objectContaining({ name: 'agenix', kind: 'removed', old: expect.objectContaining({ rev: REV(7) }) })]);
  });

  it('treats a missing lock as every input added', () => {
    const empty = parseFlakeLock('{"version":7,"root":"root","nodes":{"root":{}}}');
    const changes = diffLocks(empty, fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) }));
    expect(changes.every((c) => c.kind === 'added')).toBe(true);
    expect(changes.map((c) => c.name)).toEqual(['home-manager', 'nixpkgs', 'home-manager/nixpkgs', 'home-manager/utils']);
  });

  it('links GitLab, sourcehut and git URLs on known forges; local git inputs show their revisions only', () => {
    const one = (locked: object, original: object) => parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: { x: 'x' } }, x: { locked, original } } }));
    const pair = (make: (rev: string) => object, original: object) => diffLocks(one(make(REV(1)), original), one(make(REV(2)), original))[0];
    expect(pair((rev) => ({ type: 'gitlab', owner: 'group', repo: 'proj', rev, lastModified: 1 }), { type: 'gitlab', owner: 'group', repo: 'proj' })?.compareUrl).toBe(
      `https://gitlab.com/group/proj/-/compare/${REV(1)}...${REV(2)}`,
    );
    expect(pair((rev) => ({ type: 'sourcehut', owner: '~sircmpwn', repo: 'hare', rev, lastModified: 1 }), { type: 'sourcehut', owner: '~sircmpwn', repo: 'hare' })?.compareUrl).toBe(
      `https://git.sr.ht/~sircmpwn/hare/log/${REV(2)}`,
    );
    expect(pair((rev) => ({ type: 'git', url: 'https://github.com/msf-ocb/nixos.git', ref: 'main', rev, lastModified: 1 }), { type: 'git', url: 'https://github.com/msf-ocb/nixos.git' })?.compareUrl).toBe(
      `https://github.com/msf-ocb/nixos/compare/${REV(1)}...${REV(2)}`,
    );
    const local = pair((rev) => ({ type: 'git', url: 'file:///srv/lib', ref: 'main', rev, revCount: 3, lastModified: 1 }), { type: 'git', url: 'file:///srv/lib' });
    expect(local?.compareUrl).toBeUndefined();
    expect(local?.new?.locked).toBe(`git+file:///srv/lib?ref=main&rev=${REV(2)}`);
    expect(local?.new?.revCount).toBe(3);
  });

  it('does not link revisions of two different repositories', () => {
    const lock = (owner: string, rev: string) => parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: { x: 'x' } }, x: github(owner, 'nixpkgs', rev, 1) } }));
    const [change] = diffLocks(lock('NixOS', REV(1)), lock('fork', REV(2)));
    expect(change?.kind).toBe('updated');
    expect(change?.compareUrl).toBeUndefined();
  });
});

describe('unexpectedChanges', () => {
  const before = fleetLock({ nixpkgs: REV(1), hm: REV(2), utils: REV(3) });
  const after = fleetLock({ nixpkgs: REV(4), hm: REV(5), utils: REV(6) });
  const changes = diffLocks(before, after);

  it('accepts an input and everything under it', () => {
    expect(unexpectedChanges(changes, ['nixpkgs', 'home-manager']).map((c) => c.name)).toEqual([]);
  });

  it('flags changes outside the requested inputs', () => {
    expect(unexpectedChanges(changes, ['nixpkgs']).map((c) => c.name)).toEqual(['home-manager', 'home-manager/utils']);
    expect(unexpectedChanges(changes, ['home-manager/utils']).map((c) => c.name)).toEqual(['home-manager', 'nixpkgs']);
  });

  it('accepts everything when all inputs were asked for', () => {
    expect(unexpectedChanges(changes, [])).toEqual([]);
  });

  it('lists direct input names', () => {
    expect(directInputNames(before)).toEqual(['home-manager', 'nixpkgs']);
  });
});
