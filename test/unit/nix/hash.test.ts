import { createHash } from 'node:crypto';
import {
  decodeDigest,
  formatBase16Hash,
  formatNix32Hash,
  formatSriHash,
  nix32Decode,
  nix32Encode,
  nix32Length,
  parseAnyHash,
  parseHash,
  toNix32Hash,
} from '../../../src/nix/hash.js';

// Values printed by Nix 2.8 (`nix hash to-base32`, `nix-hash --to-base32`).
const KNOWN = [
  { algo: 'sha256', hex: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', nix32: '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73' },
  { algo: 'sha1', hex: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', nix32: '143xibwh31h9bvxzalr0sjvbbvpa6ffs' },
  { algo: 'md5', hex: createHash('md5').update('abc').digest('hex'), nix32: '3jgzhjhz9zjvbb0kyj7jc500ch' },
  {
    algo: 'sha512',
    hex: createHash('sha512').update('abc').digest('hex'),
    nix32: '2gs8k559z4rlahfx0y688s49m2vvszylcikrfinm30ly9rak69236nkam5ydvly1ai7xac99vxfc4ii84hawjbk876blyk1jfhkbbyx',
  },
] as const;

describe('nix32', () => {
  it.each(KNOWN)('encodes and decodes $algo like Nix', ({ hex, nix32 }) => {
    expect(nix32Encode(Buffer.from(hex, 'hex'))).toBe(nix32);
    expect(nix32Decode(nix32).toString('hex')).toBe(hex);
  });

  it('encodes from the last byte: a digest with only its first byte set ends the text', () => {
    const bytes = Buffer.alloc(32);
    bytes[0] = 1;
    const text = nix32Encode(bytes);
    expect(text).toHaveLength(52);
    expect(text.endsWith('1')).toBe(true);
    expect(text.slice(0, -1)).toMatch(/^0+$/);
  });

  it('round-trips random digests of every size', () => {
    for (const size of [16, 20, 32, 64]) {
      for (let i = 0; i < 50; i++) {
        const bytes = Buffer.from(Array.from({ length: size }, () => Math.floor(Math.random() * 256)));
        const text = nix32Encode(bytes);
        expect(text).toHaveLength(nix32Length(size));
        expect(nix32Decode(text).equals(bytes)).toBe(true);
      }
    }
  });

  it('store path hash parts are 20-byte nix32', () => {
    expect(nix32Decode('0s96qb5kwkd9qwg84sv19i2w26xnwwmv')).toHaveLength(20);
  });

  it('rejects letters outside the alphabet and overflowing text', () => {
    expect(() => nix32Decode('0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7e')).toThrow(/not nix32: "e"/);
    expect(() => nix32Decode('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz')).toThrow(/overflows/);
    expect(() => nix32Decode('abc')).toThrow(/length/);
  });
});

describe('parseHash', () => {
  const sha256 = KNOWN[0];
  const digest = Buffer.from(sha256.hex, 'hex');

  it('reads SRI, sha256:nix32, sha256:base16 and sha256:base64', () => {
    for (const text of [
      `sha256-${digest.toString('base64')}`,
      `sha256:${sha256.nix32}`,
      `sha256:${sha256.hex}`,
      `sha256:${digest.toString('base64')}`,
    ]) {
      expect(parseHash(text).digest.equals(digest)).toBe(true);
    }
  });

  it('reads bare digests when told the algorithm', () => {
    expect(decodeDigest(sha256.nix32, 'sha256').equals(digest)).toBe(true);
    expect(parseHash(sha256.hex, 'sha256').algorithm).toBe('sha256');
    expect(() => parseHash(sha256.hex)).toThrow(/does not say its hash algorithm/);
  });

  it('formats every form', () => {
    const hash = parseHash(`sha256:${sha256.hex}`);
    expect(formatNix32Hash(hash)).toBe(`sha256:${sha256.nix32}`);
    expect(formatSriHash(hash)).toBe(`sha256-${digest.toString('base64')}`);
    expect(formatBase16Hash(hash)).toBe(`sha256:${sha256.hex}`);
  });

  it('converts what Nix 2.8 path-info prints to narinfo form', () => {
    expect(toNix32Hash('sha256-TYbQh9WbVhsYd/4aT74XbdGTLz1I4ZcHC9fM+QoRNow=')).toBe('sha256:131n245gkk6p1c3rgqa87lpr7lbd2yz4y6pyfwc1nmlvsn3x11jd');
    expect(toNix32Hash('sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cgI=')).toBe('sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv');
  });

  it('reads structured hashes', () => {
    const base64 = digest.toString('base64');
    expect(toNix32Hash({ algorithm: 'sha256', format: 'base64', hash: base64 })).toBe(`sha256:${sha256.nix32}`);
    expect(toNix32Hash({ algorithm: 'sha256', format: 'nix32', hash: sha256.nix32 })).toBe(`sha256:${sha256.nix32}`);
    expect(toNix32Hash({ algorithm: 'sha256', format: 'base16', hash: sha256.hex })).toBe(`sha256:${sha256.nix32}`);
    expect(toNix32Hash({ algorithm: 'sha256', format: 'sri', hash: `sha256-${base64}` })).toBe(`sha256:${sha256.nix32}`);
    expect(() => parseAnyHash({ algorithm: 'blake3', hash: sha256.hex })).toThrow(/unknown hash algorithm/);
  });

  it('rejects malformed hashes with a message naming them', () => {
    expect(() => parseHash('sha256-abc')).toThrow(/not a valid SRI sha256 hash/);
    expect(() => parseHash('sha256:xyz')).toThrow(/not a sha256 digest/);
    expect(() => parseHash('crc32:00')).toThrow(/unknown hash algorithm "crc32"/);
    expect(() => parseHash(`sha1:${sha256.nix32}`, 'sha256')).toThrow(/is a sha1 hash, expected sha256/);
  });
});
