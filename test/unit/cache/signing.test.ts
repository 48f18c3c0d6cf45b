import { fingerprint, parseNarInfo } from '../../../src/cache/narinfo.js';
import { KeyFormatError, parsePublicKey, parseSigningKey, verifyAny } from '../../../src/cache/signing.js';
import { ANOTHER_PUBLIC_KEY, GOLDEN_DEP_NARINFO, GOLDEN_TOP_NARINFO, SOURCE_NARINFO, TEST_PUBLIC_KEY, TEST_SECRET_KEY } from './nix-fixtures.js';

const fingerprintOf = (text: string): string => {
  const info = parseNarInfo(text);
  return fingerprint({ storePath: info.storePath, narHash: info.narHash, narSize: info.narSize, references: info.references });
};

describe('parseSigningKey', () => {
  it('derives the public key Nix prints for the same secret key', () => {
    const key = parseSigningKey(TEST_SECRET_KEY);
    expect(key.name).toBe('test-1');
    expect(key.publicKey.text).toBe(TEST_PUBLIC_KEY);
  });

  it('accepts the key with the trailing newline "nix key generate-secret" prints', () => {
    expect(parseSigningKey(`${TEST_SECRET_KEY}\n`).publicKey.text).toBe(TEST_PUBLIC_KEY);
  });

  it.each([GOLDEN_DEP_NARINFO, GOLDEN_TOP_NARINFO])('signs exactly as Nix signed the narinfo (Ed25519 is deterministic)', (text) => {
    const info = parseNarInfo(text);
    expect(parseSigningKey(TEST_SECRET_KEY).sign(fingerprintOf(text))).toBe(info.sigs[0]);
  });

  const secretPayload = TEST_SECRET_KEY.slice('test-1:'.length);
  it.each([
    ['no colon', secretPayload, /not in Nix's "name:base64" form/],
    ['an empty name', `:${secretPayload}`, /empty name/],
    ['a name with spaces', `my key:${secretPayload}`, /white space/],
    ['bad base64', 'test-1:not*base64!', /not base64/],
    ['the public key', TEST_PUBLIC_KEY, /holds 32 bytes; a Nix secret key has 64 \(is this the public key/],
    ['a truncated key', `test-1:${Buffer.from(secretPayload, 'base64').subarray(0, 48).toString('base64')}`, /holds 48 bytes/],
    [
      'a public half that does not match the seed',
      `test-1:${Buffer.concat([Buffer.from(secretPayload, 'base64').subarray(0, 32), Buffer.alloc(32, 7)]).toString('base64')}`,
      /corrupt: its public half does not match/,
    ],
  ])('refuses %s without echoing key material', (_what, text, message) => {
    let error: unknown;
    try {
      parseSigningKey(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyFormatError);
    expect((error as Error).message).toMatch(message);
    const payload = text.slice(text.indexOf(':') + 1);
    expect((error as Error).message).not.toContain(payload.slice(0, 12));
  });
});

describe('parsePublicKey', () => {
  it('verifies signatures Nix made', () => {
    const key = parsePublicKey(TEST_PUBLIC_KEY);
    for (const text of [GOLDEN_DEP_NARINFO, GOLDEN_TOP_NARINFO]) {
      expect(key.verify(fingerprintOf(text), parseNarInfo(text).sigs[0] as string)).toBe(true);
    }
  });

  it('rejects a signature of other data, by another key name, or malformed', () => {
    const key = parsePublicKey(TEST_PUBLIC_KEY);
    const fp = fingerprintOf(GOLDEN_TOP_NARINFO);
    const sig = parseNarInfo(GOLDEN_TOP_NARINFO).sigs[0] as string;
    expect(key.verify(fp.replace(';824;', ';825;'), sig)).toBe(false);
    expect(key.verify(fp, sig.replace('test-1:', 'test-2:'))).toBe(false);
    expect(key.verify(fp, 'test-1:AAAA')).toBe(false);
    expect(key.verify(fp, 'no-colon')).toBe(false);
  });

  it('refuses a secret key given as a public key', () => {
    expect(() => parsePublicKey(TEST_SECRET_KEY)).toThrow(/holds 64 bytes; an Ed25519 public key has 32/);
  });
});

describe('verifyAny', () => {
  it('finds the one signature a trusted key made among several', () => {
    const fp = fingerprintOf(SOURCE_NARINFO);
    const { sigs } = parseNarInfo(SOURCE_NARINFO);
    expect(verifyAny(fp, sigs, [parsePublicKey(ANOTHER_PUBLIC_KEY)])).toBe(true);
    expect(verifyAny(fp, sigs, [parsePublicKey(TEST_PUBLIC_KEY)])).toBe(true);
    expect(verifyAny(fp, sigs, [])).toBe(false);
    expect(verifyAny(fp, [], [parsePublicKey(TEST_PUBLIC_KEY)])).toBe(false);
  });

  it('signatures made by our key verify with its public key', () => {
    const key = parseSigningKey(TEST_SECRET_KEY);
    const data = '1;/nix/store/00000000000000000000000000000000-x;sha256:0aid0v9zd4a2ng0plkmvjbl8l7x2z7j1vvsvy3w3ch1p1m200w0s;8;';
    expect(verifyAny(data, [key.sign(data)], [key.publicKey])).toBe(true);
  });
});
