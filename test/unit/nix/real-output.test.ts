/**
 * The parsers against what real Nix printed: fixtures recorded by scripts/record-nix-fixtures.ts from
 * every Nix the suite runs on (Nix 2.8 on the machine, current Nix in the current-Nix lane). Each
 * version's directory says which Nix made it; every version must parse to the same values.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCacheInfo } from '../../../src/cache/cache-info.js';
import { fingerprint, narInfoKey, parseNarInfo, renderNarInfo } from '../../../src/cache/narinfo.js';
import { parsePublicKey, verifyAny } from '../../../src/cache/signing.js';
import { attributeBuildErrors, failedBuilders, flakeCheckProblems, parseBuildJson } from '../../../src/nix/build-report.js';
import { foreignSystem, hintFor, parseErrorBlocks } from '../../../src/nix/errors.js';
import { parseFlakeLock, parseFlakeMetadata, resolveLockInput, rootInputs } from '../../../src/nix/flake-lock.js';
import { parsePathInfoJson, type PathInfo } from '../../../src/nix/path-info.js';
import { formatNixVersion, nixAtLeast, parseNixVersion } from '../../../src/nix/version.js';
import { builderFailed, SIGNATURE_REFUSED, signatureRefusedFor } from '../../support/nix-messages.js';

const REAL = join(import.meta.dirname, 'fixtures/real');
const VERSIONS = readdirSync(REAL).filter((d) => d.startsWith('nix-')).sort();
const read = (version: string, name: string) => readFileSync(join(REAL, version, name), 'utf8');
const has = (version: string, name: string) => existsSync(join(REAL, version, name));

// The recorder's derivations: the same store paths in every version.
const S = '/nix/store/';
const APP = `${S}g2q57hg4x166rxqsxz5jlxgv2idja70q-fixture-app-2.0`;
const APP_DOC = `${S}1r94105zdrbwicf9a1jgz2kg7a80281a-fixture-app-2.0-doc`;
const APP_DRV = `${S}374xgnrc0lz2f5nxhqqmq52vs6bdhi35-fixture-app-2.0.drv`;
const DEP = `${S}vfql400kjb6fdlmj2ynijic4908vqcr8-fixture-dep-1.0`;
const DEP_DRV = `${S}9b964a833y2rgmnksfvqb828rxxxcxdq-fixture-dep-1.0.drv`;
const BAD_DRV = `${S}iq3y5in3nvhi4cm5p7iyp8r5xsxx47v9-fixture-bad-0.1.drv`;
const NEEDS_BAD_DRV = `${S}422y25wl7nnpmfp7hlhd8a14q2kk8nzq-fixture-needs-bad-1.0.drv`;
const FOREIGN_DRV = `${S}afxn6abdc00rc797ym1lpjijjwwr9kkw-fixture-foreign-1.0.drv`;
const HELLO = `${S}0p4siv7l3jb76m9lwi6q44rai3mji1y9-hello.txt`;
const INVALID = `${S}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-fixture-missing`;
const FIXTURE_PUBLIC_KEY = parsePublicKey('fixture-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=');

/** path-info without what differs between runs (registration time) or versions (`ultimate` of added files). */
const stable = (infos: PathInfo[]) =>
  infos.map(({ registrationTime: _r, ultimate: _u, ...rest }) => rest).sort((a, b) => a.path.localeCompare(b.path));

it('has fixtures from Nix 2.8 and from current Nix (2.33 or later)', () => {
  const versions = VERSIONS.map((d) => parseNixVersion(read(d, 'version.txt')));
  expect(versions.some((v) => !nixAtLeast(v, 2, 19))).toBe(true);
  expect(versions.some((v) => nixAtLeast(v, 2, 33))).toBe(true);
});

describe.each(VERSIONS)('output of %s', (dir) => {
  const version = parseNixVersion(read(dir, 'version.txt'));

  it('was recorded by the Nix its directory names', () => {
    expect(`nix-${formatNixVersion(version)}`).toBe(dir);
    expect(read(dir, 'README.md')).toContain(version.text);
  });

  it('nix build --json: flake attributes, dry runs, store paths and DRV^out', () => {
    const expected = [
      { drvPath: APP_DRV, outputs: { out: APP } },
      { drvPath: DEP_DRV, outputs: { out: DEP } },
    ];
    expect(parseBuildJson(read(dir, 'build-flake.json'))).toEqual(expected);
    expect(parseBuildJson(read(dir, 'build-dry-run.json'))).toEqual(expected);
    expect(parseBuildJson(read(dir, 'build-store-path.json'))).toEqual([{ outputs: { out: DEP } }]);
    if (nixAtLeast(version, 2, 13)) {
      expect(parseBuildJson(read(dir, 'build-drv-out.json'))).toEqual([{ drvPath: APP_DRV, outputs: { out: APP } }]);
      // Current Nix reads a bare .drv as the file itself; Nix 2.8 built its outputs.
      expect(parseBuildJson(read(dir, 'build-drv.stdout'))).toEqual([{ outputs: { out: APP_DRV } }]);
    } else {
      expect(parseBuildJson(read(dir, 'build-drv.stdout'))).toEqual([{ drvPath: APP_DRV, outputs: { doc: APP_DOC, out: APP } }]);
    }
  });

  it('a failed build: the failed builder, its log tail, and no blame for what only depended on it', () => {
    const stderr = read(dir, 'build-failure.stderr');
    expect(read(dir, 'build-failure.code').trim()).not.toBe('0');
    expect(failedBuilders(stderr)).toEqual([BAD_DRV]);
    const bad = attributeBuildErrors(stderr, new Set([BAD_DRV]));
    expect(bad.failedDrvs).toEqual([BAD_DRV]);
    expect(bad.error).toContain('failing now');
    const needsBad = attributeBuildErrors(stderr, new Set([NEEDS_BAD_DRV, BAD_DRV]));
    expect(needsBad.failedDrvs).toEqual([BAD_DRV]);
    expect(attributeBuildErrors(stderr, new Set([APP_DRV, DEP_DRV])).failedDrvs).toEqual([]);
    expect(stderr).toMatch(builderFailed('fixture-bad-0.1', 3));
    expect(stderr).not.toMatch(builderFailed('fixture-bad-0.1', 4));
    expect(parseBuildJson(read(dir, 'build-failure-drvs.json')).map((e) => e.drvPath)).toEqual([BAD_DRV, NEEDS_BAD_DRV]);
  });

  it('evaluation errors and the hints fleet adds', () => {
    expect(parseErrorBlocks(read(dir, 'eval-error.stderr')).join('\n')).toContain('fixture evaluation error');
    expect(hintFor(read(dir, 'missing-attribute.stderr'))).toMatch(/nix flake show/);
    expect(hintFor(read(dir, 'flakes-disabled.stderr'))).toMatch(/experimental-features = nix-command flakes/);
    expect(hintFor(read(dir, 'path-not-valid.stderr'))).toMatch(/not in the store/);
  });

  it('a derivation of another system: which system, and how to get it built', () => {
    const stderr = read(dir, 'build-foreign-system.stderr');
    expect(read(dir, 'build-foreign-system.code').trim()).toBe('1');
    expect(foreignSystem(stderr)).toEqual({ wanted: 'aarch64-linux', have: 'x86_64-linux' });
    expect(hintFor(stderr)).toBe(
      'It is built for aarch64-linux and this machine builds x86_64-linux: give the host `system: aarch64-linux` in the inventory so the aarch64-linux build job builds it, or give builders with an aarch64-linux machine.',
    );
    expect(failedBuilders(stderr)).toEqual([FOREIGN_DRV]);
    expect(foreignSystem(read(dir, 'build-failure.stderr'))).toBeUndefined();
  });

  it('nix flake check --keep-going: every problem, not only the closing line', () => {
    expect(read(dir, 'flake-check.code').trim()).not.toBe('0');
    const problems = flakeCheckProblems(read(dir, 'flake-check.stderr')).join('\n');
    expect(problems).toContain('fixture evaluation error');
    expect(problems).toMatch(builderFailed('fixture-bad-0.1', 3));
    expect(problems).not.toMatch(/some errors were encountered/);
  });

  it('nix path-info --json: the same values in every format, signatures that verify', () => {
    const { infos, invalid } = parsePathInfoJson(read(dir, 'path-info.stdout'));
    expect(invalid).toEqual([INVALID]);
    const byPath = new Map(infos.map((i) => [i.path, i]));
    expect([...byPath.keys()].sort()).toEqual([HELLO, APP, DEP].sort());
    expect(byPath.get(APP)).toMatchObject({ narSize: 176, references: [DEP], deriver: APP_DRV, closureSize: 296, signatures: [] });
    expect(byPath.get(HELLO)).toMatchObject({ narSize: 136, references: [], ca: 'fixed:sha256:0gn4dn2v1f49ha2nk1vk9xkx3yync236pckvks9i8rw0kz8nj2jq' });
    expect(byPath.get(HELLO)?.deriver).toBeUndefined();
    const dep = byPath.get(DEP) as PathInfo;
    expect(dep.narHash).toMatch(/^sha256:[0-9a-z]{52}$/);
    const data = fingerprint({ storePath: dep.path, narHash: dep.narHash, narSize: dep.narSize, references: dep.references });
    expect(verifyAny(data, dep.signatures, [FIXTURE_PUBLIC_KEY])).toBe(true);

    const recursive = parsePathInfoJson(read(dir, 'path-info-recursive.json')).infos;
    expect(recursive.map((i) => i.path).sort()).toEqual([APP, DEP]);
    const drv = parsePathInfoJson(read(dir, 'path-info-drv.json')).infos;
    expect(drv).toMatchObject([{ path: APP_DRV, references: [DEP_DRV], ca: expect.stringMatching(/^text:sha256:/) }]);
    if (has(dir, 'path-info-format-2.stdout')) {
      const format2 = parsePathInfoJson(read(dir, 'path-info-format-2.stdout'));
      expect(format2.invalid).toEqual([INVALID]);
      expect(stable(format2.infos)).toEqual(stable(infos));
    }
  });

  it('flake metadata and flake.lock, with a followed input', () => {
    const metadata = parseFlakeMetadata(read(dir, 'flake-metadata.json'));
    expect(metadata.path).toMatch(/^\/nix\/store\/[0-9a-z]{32}-source$/);
    expect(metadata.original).toMatchObject({ type: 'path', path: '/tmp/fleet-nix-fixtures/flake' });
    for (const lock of [metadata.locks, parseFlakeLock(read(dir, 'flake.lock'))]) {
      expect(rootInputs(lock)).toEqual({ lib: 'lib', util: 'util' });
      expect(resolveLockInput(lock, ['lib', 'util'])).toBe('util');
      expect(lock.nodes.lib?.locked).toMatchObject({ type: 'path', narHash: expect.stringMatching(/^sha256-/) });
    }
  });

  it('nix eval --json', () => {
    expect(JSON.parse(read(dir, 'eval-inventory.json'))).toEqual({ hosts: { web1: { environment: 'production', tags: ['web'], deploy: { method: 'ssh' } } } });
    expect(JSON.parse(read(dir, 'eval-attr-names.json'))).toEqual(['app', 'bad', 'dep', 'needs-bad']);
  });

  it('narinfos Nix writes: parsed, rendered back line for line, signatures that verify', () => {
    expect(parseCacheInfo(read(dir, 'cache-nix-cache-info'))).toMatchObject({ storeDir: '/nix/store' });
    const pathInfos = new Map(parsePathInfoJson(read(dir, 'path-info.stdout')).infos.map((i) => [i.path, i]));
    for (const path of [APP, HELLO]) {
      const text = read(dir, `cache-${narInfoKey(path).replace(/\.narinfo$/, '')}.narinfo`);
      const info = parseNarInfo(text);
      expect(info.storePath).toBe(path);
      expect(info.narHash).toBe(pathInfos.get(path)?.narHash);
      expect(info.references).toEqual(pathInfos.get(path)?.references);
      expect(renderNarInfo(info)).toBe(text);
      const data = fingerprint({ storePath: path, narHash: info.narHash, narSize: info.narSize, references: info.references });
      expect(verifyAny(data, info.sigs, [FIXTURE_PUBLIC_KEY])).toBe(true);
    }
  });

  it('reading a cache back: refusals the tests match', () => {
    const unsigned = read(dir, 'copy-unsigned.stderr');
    expect(read(dir, 'copy-unsigned.code').trim()).not.toBe('0');
    expect(unsigned).toMatch(SIGNATURE_REFUSED);
    expect(unsigned).toMatch(signatureRefusedFor(APP));
    expect(unsigned).not.toMatch(signatureRefusedFor(DEP));
    expect(read(dir, 'copy-corrupt-nar.stderr')).toMatch(new RegExp(`hash mismatch importing path '${APP}'`));
  });
});

it('every version parses to the same path-info, build results and lock inputs', () => {
  const [first, ...rest] = VERSIONS.map((dir) => ({
    pathInfo: stable(parsePathInfoJson(read(dir, 'path-info.stdout')).infos),
    built: parseBuildJson(read(dir, 'build-flake.json')),
    inputs: rootInputs(parseFlakeLock(read(dir, 'flake.lock'))),
  }));
  for (const other of rest) expect(other).toEqual(first);
});
