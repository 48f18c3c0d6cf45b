import { fingerprint, narInfoKey, normalizeSha256, parseNarInfo, renderNarInfo, type NarInfo } from '../../../src/cache/narinfo.js';
import { GOLDEN_DEP_NARINFO, GOLDEN_TOP_NARINFO, SOURCE_NARINFO } from './nix-fixtures.js';

const TOP = '/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top';
const DEP = '/nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep';

const topInfo: NarInfo = {
  storePath: TOP,
  url: 'nar/1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj.nar.zst',
  compression: 'zstd',
  fileHash: 'sha256:1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj',
  fileSize: 264,
  narHash: 'sha256:0k1h0p96mxdsnhp0x45pbmwqr0r3931bwdlg6mafs8912bkmk37z',
  narSize: 824,
  // Unsorted and with the self-reference, as callers may hand them over.
  references: [TOP, DEP],
  deriver: '/nix/store/dspkaj8ip03k82pfr7wkag5dsbnav79n-golden-top.drv',
  sigs: ['test-1:d3rLAEH1DB+8pjHo65yy1hH8OqkDS+tTcqyiybKiwhVNUIgQN5VhbtUC6Gm/8kS8EEtdeEEhkSkpthIFzbddDw=='],
};

describe('renderNarInfo', () => {
  it('writes what Nix 2.8 writes, byte for byte (references as sorted base names, Deriver as base name)', () => {
    expect(renderNarInfo(topInfo)).toBe(GOLDEN_TOP_NARINFO);
  });

  it('keeps "References: " with its space when there are none, as Nix needs to parse it', () => {
    const text = renderNarInfo(parseNarInfo(GOLDEN_DEP_NARINFO));
    expect(text).toBe(GOLDEN_DEP_NARINFO);
    expect(text).toContain('\nReferences: \n');
  });

  it('writes CA last and signatures sorted, like Nix (a path without a deriver has no Deriver line)', () => {
    const info = parseNarInfo(SOURCE_NARINFO);
    info.sigs.reverse();
    expect(renderNarInfo(info)).toBe(SOURCE_NARINFO);
    expect(renderNarInfo(info)).not.toContain('Deriver');
  });

  it('writes hashes given in SRI or base16 as sha256:nix32', () => {
    const text = renderNarInfo({ ...topInfo, narHash: 'sha256-/4xZ5xIhIe1UNY82vsJII4OMeV23kA4utLr1atIFMEw=' });
    expect(text).toBe(GOLDEN_TOP_NARINFO);
  });

  it('omits FileHash and FileSize when unknown', () => {
    const { fileHash: _h, fileSize: _s, ...rest } = topInfo;
    const text = renderNarInfo(rest);
    expect(text).not.toMatch(/FileHash|FileSize/);
    expect(text.split('\n').slice(0, 4)).toEqual([`StorePath: ${TOP}`, `URL: ${topInfo.url}`, 'Compression: zstd', `NarHash: ${topInfo.narHash}`]);
  });
});

describe('parseNarInfo', () => {
  it('reads a Nix-written narinfo into full store paths', () => {
    expect(parseNarInfo(GOLDEN_TOP_NARINFO)).toEqual({ ...topInfo, references: [DEP, TOP] });
  });

  it('reads several Sig lines and CA', () => {
    const info = parseNarInfo(SOURCE_NARINFO);
    expect(info.sigs).toHaveLength(2);
    expect(info.ca).toBe('fixed:r:sha256:0c3qri7ivbfpahs92wbgab11g99bhylygh130r2kslbns9s8dqkf');
    expect(info.references).toEqual([]);
    expect(info.deriver).toBeUndefined();
    expect(info.compression).toBe('xz');
  });

  it('ignores unknown fields and "unknown-deriver", and assumes bzip2 without Compression, as Nix does', () => {
    const text = GOLDEN_DEP_NARINFO.replace('Compression: zstd\n', 'System: x86_64-linux\n').replace(/Deriver: .*\n/, 'Deriver: unknown-deriver\n');
    const info = parseNarInfo(text);
    expect(info.compression).toBe('bzip2');
    expect(info.deriver).toBeUndefined();
  });

  it.each([
    ['no StorePath', (t: string) => t.replace(/StorePath: .*\n/, ''), /has no StorePath/],
    ['no URL', (t: string) => t.replace(/URL: .*\n/, ''), /has no URL/],
    ['no NarHash', (t: string) => t.replace(/NarHash: .*\n/, ''), /has no NarHash/],
    ['NarSize 0', (t: string) => t.replace(/NarSize: .*\n/, 'NarSize: 0\n'), /NarSize is 0/],
    ['a NarSize that is not a number', (t: string) => t.replace(/NarSize: .*\n/, 'NarSize: 12kB\n'), /NarSize "12kB" is not a number/],
    ['a bad NarHash', (t: string) => t.replace(/NarHash: .*\n/, 'NarHash: sha256:xyz\n'), /NarHash/],
    ['a StorePath outside the store', (t: string) => t.replace(/StorePath: .*\n/, 'StorePath: /gnu/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-x\n'), /not in \/nix\/store/],
    ['a reference that is no store path name', (t: string) => t.replace(/References: .*\n/, 'References: ../etc/passwd\n'), /reference "..\/etc\/passwd"/],
    ['a line without a colon', (t: string) => `${t}garbage\n`, /"garbage" is not "Name: value"/],
    ['a field written twice', (t: string) => `${t}NarSize: 1\n`, /NarSize appears 2 times/],
  ])('refuses %s', (_what, change, message) => {
    expect(() => parseNarInfo(change(GOLDEN_DEP_NARINFO), 'cache/5vf6.narinfo')).toThrow(message);
    expect(() => parseNarInfo(change(GOLDEN_DEP_NARINFO), 'cache/5vf6.narinfo')).toThrow(/cache\/5vf6.narinfo is corrupt/);
  });
});

describe('fingerprint', () => {
  it('is 1;path;sha256:nix32;size;sorted full references', () => {
    expect(fingerprint({ storePath: TOP, narHash: topInfo.narHash, narSize: 824, references: [TOP, DEP] })).toBe(
      `1;${TOP};sha256:0k1h0p96mxdsnhp0x45pbmwqr0r3931bwdlg6mafs8912bkmk37z;824;${DEP},${TOP}`,
    );
  });

  it('ends with an empty reference list for a path without references', () => {
    expect(fingerprint({ storePath: DEP, narHash: 'sha256-GnAARA03QDb48FvvHeT5oh+K6JK7TnrBs0KR9tMGLSo=', narSize: 888, references: [] })).toBe(
      `1;${DEP};sha256:0aid0v9zd4a2ng0plkmvjbl8l7x2z7j1vvsvy3w3ch1p1m200w0s;888;`,
    );
  });

  it('refuses a path with no NAR size, as Nix does', () => {
    expect(() => fingerprint({ storePath: DEP, narHash: topInfo.narHash, narSize: 0, references: [] })).toThrow(/NAR size is unknown/);
  });
});

describe('helpers', () => {
  it('names the narinfo by the hash part of the store path', () => {
    expect(narInfoKey(TOP)).toBe('ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv.narinfo');
    expect(() => narInfoKey('/nix/store/not-a-store-path')).toThrow(/not a store path/);
  });

  it('normalizes SRI, base16 and nix32 sha256 to sha256:nix32 (Nix 2.8 prints SRI in path-info)', () => {
    const nix32 = 'sha256:0aid0v9zd4a2ng0plkmvjbl8l7x2z7j1vvsvy3w3ch1p1m200w0s';
    expect(normalizeSha256('sha256-GnAARA03QDb48FvvHeT5oh+K6JK7TnrBs0KR9tMGLSo=')).toBe(nix32);
    expect(normalizeSha256('sha256:1a7000440d374036f8f05bef1de4f9a21f8ae892bb4e7ac1b34291f6d3062d2a')).toBe(nix32);
    expect(normalizeSha256(nix32)).toBe(nix32);
    expect(() => normalizeSha256('md5:00000000000000000000000000000000')).toThrow();
  });
});

describe('normalizeSha256 on nix32 text', () => {
  it('refuses nix32 text that overflows 32 bytes, even though it looks canonical', () => {
    expect(() => normalizeSha256('sha256:2aid0v9zd4a2ng0plkmvjbl8l7x2z7j1vvsvy3w3ch1p1m200w0s')).toThrow();
    expect(() => normalizeSha256('sha256:0aid0v9zd4a2ng0plkmvjbl8l7x2z7j1vvsvy3w3ch1p1m200w0e')).toThrow();
  });
});
