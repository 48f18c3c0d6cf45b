import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { fingerprint } from '../../../src/cache/narinfo.js';
import {
  canonicalManifestJson,
  formatTimestamp,
  manifestStorePath,
  signManifest,
  singleFileNar,
  validateManifest,
  verifySignedManifest,
  type Manifest,
} from '../../../src/deploy/pull/manifest.js';
import { manifestPointerKey, parsePointer, renderPointer } from '../../../src/deploy/pull/pointer.js';
import { testSigningKey } from './keys.js';

const SYSTEM = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-clinic-kin-24.11';
const OTHER = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-clinic-kin-24.11';

const manifest: Manifest = {
  format: 1,
  host: 'clinic-kin',
  environment: 'production',
  system: SYSTEM,
  action: 'switch',
  rollback: 'auto',
  commit: '0123456789abcdef0123456789abcdef01234567',
  wave: 'middle',
  sequence: 17,
  issuedAt: '2025-03-01T10:00:00Z',
  expiresAt: '2025-03-31T10:00:00Z',
};

describe('canonical manifest JSON', () => {
  it('is one line with sorted keys and no white space, whatever the key order given', () => {
    const { format, host, environment, system, action, rollback, commit, wave, sequence, issuedAt, expiresAt } = manifest;
    const shuffled: Manifest = { wave, system, sequence, rollback, issuedAt, host, format, expiresAt, environment, commit, action };
    expect(Object.keys(shuffled)[0]).toBe('wave');
    const text = canonicalManifestJson(shuffled);
    expect(text).toBe(
      '{"action":"switch","commit":"0123456789abcdef0123456789abcdef01234567","environment":"production","expiresAt":"2025-03-31T10:00:00Z",' +
        '"format":1,"host":"clinic-kin","issuedAt":"2025-03-01T10:00:00Z","rollback":"auto","sequence":17,' +
        `"system":"${SYSTEM}","wave":"middle"}`,
    );
  });

  it('formats times in whole UTC seconds, as `date -d` on the host reads them', () => {
    expect(formatTimestamp(new Date('2025-03-01T10:00:00.999Z'))).toBe('2025-03-01T10:00:00Z');
  });
});

describe('validateManifest', () => {
  it.each([
    [{ host: 'web"1' }, /host: must be an inventory host name/],
    [{ system: '/nix/store/short-x' }, /system: must be a store path/],
    [{ system: `${SYSTEM}"` }, /system/],
    [{ sequence: 0 }, /sequence/],
    [{ sequence: 1.5 }, /sequence/],
    [{ action: 'test' }, /action/],
    [{ commit: 'main' }, /commit: must be a git commit hash/],
    [{ issuedAt: '2025-03-01T10:00:00.000Z' }, /issuedAt: must be a UTC time/],
    [{ expiresAt: '2025-02-01T10:00:00Z' }, /expires \(2025-02-01T10:00:00Z\) before it is issued/],
    [{ extra: 'field' }, /Unrecognized key/],
  ])('refuses %j', (change, message) => {
    expect(() => validateManifest({ ...manifest, ...change })).toThrow(message);
  });

  it('accepts nulls for the optional commit and wave', () => {
    expect(validateManifest({ ...manifest, commit: null, wave: null })).toMatchObject({ commit: null, wave: null });
  });
});

describe('the signed manifest object', () => {
  const key = testSigningKey('fleet-manifest-1');

  it('is a single-file NAR whose store path follows from its hash and name', () => {
    const signed = signManifest(manifest, [key]);
    expect(signed.content).toBe(`${canonicalManifestJson(manifest)}\n`);
    expect(signed.nar).toEqual(singleFileNar(Buffer.from(signed.content)));
    expect(signed.nar.subarray(8, 21).toString()).toBe('nix-archive-1');
    expect(signed.nar.length % 8).toBe(0);
    expect(signed.narSize).toBe(signed.nar.length);
    expect(signed.narHash).toMatch(/^sha256:[0-9a-df-np-sv-z]{52}$/);
    expect(signed.storePath).toMatch(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-fleet-manifest-clinic-kin-17$/);
    expect(signed.storePath).toBe(manifestStorePath(signed.narHash, 'fleet-manifest-clinic-kin-17'));
    // Same content, same path; any change, another path.
    expect(signManifest(manifest, [key]).storePath).toBe(signed.storePath);
    expect(signManifest({ ...manifest, system: OTHER }, [key]).storePath).not.toBe(signed.storePath);
  });

  it('carries a Nix signature of the narinfo fingerprint', () => {
    const signed = signManifest(manifest, [key]);
    const print = fingerprint({ storePath: signed.storePath, narHash: signed.narHash, narSize: signed.narSize, references: [] });
    expect(signed.signatures).toHaveLength(1);
    expect(signed.signatures[0]).toMatch(/^fleet-manifest-1:[A-Za-z0-9+/]{86}==$/);
    expect(key.publicKey.verify(print, signed.signatures[0] as string)).toBe(true);
  });

  it('NAR layout matches Nix for a regular file (strings padded to 8 bytes)', () => {
    const nar = singleFileNar(Buffer.from('abc'));
    const strings: string[] = [];
    let offset = 0;
    while (offset < nar.length) {
      const length = Number(nar.readBigUInt64LE(offset));
      strings.push(nar.subarray(offset + 8, offset + 8 + length).toString());
      offset += 8 + length + ((8 - (length % 8)) % 8);
    }
    expect(strings).toEqual(['nix-archive-1', '(', 'type', 'regular', 'contents', 'abc', ')']);
    expect(createHash('sha256').update(nar).digest('hex')).toHaveLength(64);
  });

  it('verifies with the public key and refuses any change', () => {
    const signed = signManifest(manifest, [key]);
    expect(verifySignedManifest(signed, [key.publicKey])).toEqual(manifest);
    expect(() => verifySignedManifest({ ...signed, manifest: { ...manifest, system: OTHER } }, [key.publicKey])).toThrow(/does not match its content/);
    const other = testSigningKey('fleet-manifest-1');
    expect(() => verifySignedManifest(signed, [other.publicKey])).toThrow(/no signature by a trusted key \(fleet-manifest-1\)/);
    // A re-signed twin with a new path still needs a trusted signature.
    const forged = signManifest({ ...manifest, system: OTHER }, [other]);
    expect(() => verifySignedManifest(forged, [key.publicKey])).toThrow(/no signature by a trusted key/);
  });

  it('needs a key', () => {
    expect(() => signManifest(manifest, [])).toThrow(/needs a signing key/);
  });
});

describe('the pointer', () => {
  const key = testSigningKey('fleet-manifest-1');

  it('lives at fleet/<environment>/<host>.json and round-trips', () => {
    const signed = signManifest(manifest, [key]);
    expect(manifestPointerKey('production', 'clinic-kin')).toBe('fleet/production/clinic-kin.json');
    const pointer = parsePointer(renderPointer(signed), 'pointer');
    expect(pointer).toEqual({ format: 1, storePath: signed.storePath, narHash: signed.narHash, narSize: signed.narSize, signatures: signed.signatures, manifest });
  });

  it('refuses names that would escape the layout or collide with the status reports', () => {
    expect(() => manifestPointerKey('../x', 'web1')).toThrow(/environment "..\/x" cannot name/);
    expect(() => manifestPointerKey('production', 'a/b')).toThrow(/host "a\/b" cannot name/);
    expect(() => manifestPointerKey('status', 'web1')).toThrow(/fleet\/status\/ holds the hosts' status reports/);
  });

  it('reports what is wrong with a bad pointer', () => {
    expect(() => parsePointer('{', 'fleet/p/h.json')).toThrow(/fleet\/p\/h.json is not valid JSON/);
    expect(() => parsePointer('{"format":2}', 'fleet/p/h.json')).toThrow(/is not a manifest pointer: format/);
    expect(() => parsePointer(JSON.stringify({ format: 1, storePath: '/tmp/x', narHash: 'x', narSize: 1, signatures: [] }), 'p')).toThrow(/storePath: must be a store path/);
  });
});
