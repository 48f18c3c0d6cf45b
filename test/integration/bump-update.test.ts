import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateFlake } from '../../src/bump/flake-source.js';
import { readLockState, restoreLock, updateFlakeLock } from '../../src/bump/update.js';
import { Nix } from '../../src/nix/index.js';
import { memoryLog } from '../../src/util/log.js';

// Nix changed how one input is updated in 2.19 (`nix flake update INPUT`, before:
// `nix flake lock --update-input INPUT`). A stand-in `nix` that reports a chosen version, records
// its arguments and writes the next lock file shows which command the bump runs for each version.

const lock = (rev: string, other = 'b'.repeat(40)) =>
  `${JSON.stringify({
    version: 7,
    root: 'root',
    nodes: {
      root: { inputs: { nixpkgs: 'nixpkgs', other: 'other' } },
      nixpkgs: { locked: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev, lastModified: 1730419200 }, original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' } },
      other: { locked: { type: 'github', owner: 'o', repo: 'other', rev: other, lastModified: 1730419200 }, original: { type: 'github', owner: 'o', repo: 'other' } },
    },
  }, null, 2)}\n`;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-fake-nix-'));
  await writeFile(join(dir, 'flake.nix'), '{ outputs = { self }: { }; }\n');
  await writeFile(join(dir, 'flake.lock'), lock('a'.repeat(40)));
  await writeFile(join(dir, 'next.lock'), lock('c'.repeat(40)));
  await writeFile(
    join(dir, 'nix'),
    ['#!/bin/sh', 'if [ "$1" = "--version" ]; then echo "nix (Nix) $FAKE_NIX_VERSION"; exit 0; fi', 'printf "%s\\n" "$*" >> "$FAKE_DIR/calls"', 'cp "$FAKE_DIR/next.lock" "$FAKE_DIR/flake.lock"', ''].join('\n'),
  );
  await chmod(join(dir, 'nix'), 0o755);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fakeNix(version: string): Nix {
  return new Nix({ nixBin: join(dir, 'nix'), env: { ...process.env, FAKE_NIX_VERSION: version, FAKE_DIR: dir }, log: memoryLog() });
}

const calls = async () => (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n');

describe('updateFlakeLock with each Nix generation', () => {
  it('uses nix flake lock --update-input before 2.19', async () => {
    const source = await locateFlake(dir);
    expect(source.ref).toBe(`path:${dir}`);
    const update = await updateFlakeLock(fakeNix('2.8.0'), source, ['nixpkgs']);
    expect(await calls()).toEqual([`--extra-experimental-features nix-command flakes flake lock path:${dir} --update-input nixpkgs`]);
    expect(update.changes.map((c) => [c.name, c.old?.rev, c.new?.rev])).toEqual([['nixpkgs', 'a'.repeat(40), 'c'.repeat(40)]]);
    expect(update.unexpected).toEqual([]);
  });

  it('uses nix flake update INPUT from 2.19', async () => {
    await updateFlakeLock(fakeNix('2.24.10'), await locateFlake(dir), ['nixpkgs', 'other']);
    expect(await calls()).toEqual([`--extra-experimental-features nix-command flakes flake update --flake path:${dir} nixpkgs other`]);
  });

  it('flags inputs Nix moved without being asked', async () => {
    await writeFile(join(dir, 'next.lock'), lock('c'.repeat(40), 'd'.repeat(40)));
    const update = await updateFlakeLock(fakeNix('2.24.10'), await locateFlake(dir), ['nixpkgs']);
    expect(update.unexpected.map((c) => c.name)).toEqual(['other']);
  });

  it('keeps the original text when nothing changed, and restores the lock afterwards', async () => {
    const original = await readLockState(await locateFlake(dir));
    await writeFile(join(dir, 'next.lock'), JSON.stringify(JSON.parse(lock('a'.repeat(40)))));
    const source = await locateFlake(dir);
    const update = await updateFlakeLock(fakeNix('2.8.0'), source, []);
    expect(update.changes).toEqual([]);
    expect(update.after.text).toBe(original.text);
    await restoreLock(source, original);
    expect(await readFile(join(dir, 'flake.lock'), 'utf8')).toBe(original.text);
  });

  it('reads a missing lock as empty and a broken one as an error naming the file', async () => {
    await rm(join(dir, 'flake.lock'));
    const source = await locateFlake(dir);
    expect((await readLockState(source)).text).toBeUndefined();
    const update = await updateFlakeLock(fakeNix('2.8.0'), source, []);
    expect(update.changes.map((c) => c.kind)).toEqual(['added', 'added']);
    await writeFile(join(dir, 'flake.lock'), '{ nope');
    await expect(readLockState(source)).rejects.toThrow(/^flake\.lock: flake\.lock is not valid: not JSON/);
  });
});
