import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlakeLock, parseFlakeMetadata, readLock, resolveLockInput, rootInputs } from '../../../src/nix/flake-lock.js';

const fixturePath = fileURLToPath(new URL('fixtures/flake-with-follows.lock', import.meta.url));
const text = readFileSync(fixturePath, 'utf8');

describe('parseFlakeLock', () => {
  const lock = parseFlakeLock(text);

  it('reads nodes, locked and original refs', () => {
    expect(lock.version).toBe(7);
    expect(lock.root).toBe('root');
    expect(lock.nodes.nixpkgs?.locked).toMatchObject({ type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 'ac35b104800bff9028425fec3b6e8a41de2bbfff', lastModified: 1733015953 });
    expect(lock.nodes.nixpkgs?.original).toMatchObject({ ref: 'nixos-24.11' });
    expect(lock.nodes.secrets?.flake).toBe(false);
    expect(lock.nodes.secrets?.locked?.revCount).toBe(42);
  });

  it('keeps follows as paths', () => {
    expect(lock.nodes['home-manager']?.inputs).toEqual({ nixpkgs: ['nixpkgs'] });
    expect(lock.nodes.root?.inputs?.utils).toEqual(['flake-utils']);
  });

  it('resolves inputs through follows', () => {
    expect(resolveLockInput(lock, ['home-manager', 'nixpkgs'])).toBe('nixpkgs');
    expect(resolveLockInput(lock, ['utils', 'systems'])).toBe('systems');
    expect(resolveLockInput(lock, ['nope'])).toBeUndefined();
    expect(rootInputs(lock)).toEqual({
      'flake-utils': 'flake-utils',
      'home-manager': 'home-manager',
      nixpkgs: 'nixpkgs',
      'nixpkgs-unstable': 'nixpkgs-unstable',
      secrets: 'secrets',
      utils: 'flake-utils',
    });
  });

  it('detects follows loops', () => {
    const loop = parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: { a: ['b'], b: ['a'] } } } }));
    expect(() => resolveLockInput(loop, ['a'])).toThrow(/loop/);
  });

  it('reports what is wrong with a broken lock', () => {
    expect(() => parseFlakeLock('{')).toThrow(/flake.lock is not valid: not JSON/);
    expect(() => parseFlakeLock('{"version": 4, "nodes": {}}')).toThrow(/version 4 is not supported/);
    expect(() => parseFlakeLock('{"version": 7, "root": "root", "nodes": {}}')).toThrow(/root node "root" is missing/);
    expect(() => parseFlakeLock('{"version": 7, "root": "root", "nodes": {"root": {"inputs": {"x": "gone"}}}}')).toThrow(/points to missing node "gone"/);
    expect(() => parseFlakeLock('{"version": 7, "root": "root", "nodes": {"root": {"inputs": {"x": 3}}}}')).toThrow(/node name or a follows path/);
    expect(() => parseFlakeLock('{"version": 7, "root": "root", "nodes": {"root": {}, "a": {"locked": {"rev": "x"}}}}')).toThrow(/"type"/);
  });
});

describe('readLock', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-lock-'));
    await writeFile(join(dir, 'flake.lock'), text);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a flake directory or the file itself', async () => {
    expect((await readLock(dir)).nodes.nixpkgs?.locked?.rev).toBe('ac35b104800bff9028425fec3b6e8a41de2bbfff');
    expect((await readLock(join(dir, 'flake.lock'))).version).toBe(7);
  });

  it('says how to create a missing lock', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fleet-lock-'));
    try {
      await expect(readLock(empty)).rejects.toThrow(/run `nix flake lock` to create it/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('parseFlakeMetadata', () => {
  it('reads what nix flake metadata --json prints', () => {
    const meta = parseFlakeMetadata(
      JSON.stringify({
        description: 'exp',
        lastModified: 1795316291,
        locked: { lastModified: 1795316291, narHash: 'sha256-v7EV6Exz6tplYLteE0s/dRLKj1o3dAYTxx0+XrqWdcU=', path: '/tmp/x', type: 'path' },
        locks: JSON.parse(text),
        original: { path: '/tmp/x', type: 'path' },
        originalUrl: 'path:/tmp/x',
        path: '/nix/store/w4lrs9krh8rhczrr6v6314k5gziz8rn9-source',
        resolved: { path: '/tmp/x', type: 'path' },
        resolvedUrl: 'path:/tmp/x',
        url: 'path:/tmp/x?lastModified=1795316291&narHash=sha256-v7EV6Exz6tplYLteE0s%2fdRLKj1o3dAYTxx0+XrqWdcU=',
      }),
    );
    expect(meta.description).toBe('exp');
    expect(meta.path).toBe('/nix/store/w4lrs9krh8rhczrr6v6314k5gziz8rn9-source');
    expect(meta.locks.nodes['home-manager']?.inputs?.nixpkgs).toEqual(['nixpkgs']);
    expect(() => parseFlakeMetadata('{}')).toThrow(/no "path" and "url"/);
  });
});
