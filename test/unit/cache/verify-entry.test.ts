import { fingerprint, renderNarInfo, type NarInfo } from '../../../src/cache/narinfo.js';
import { parseSigningKey } from '../../../src/cache/signing.js';
import { judgeCachedEntry, readCachedNarInfo, verifyCacheEntry, type LocalPath } from '../../../src/cache/verify-entry.js';
import { MemoryStore } from '../../support/memory-store.js';
import { nixKeyPair } from '../../support/keys.js';
import { TEST_SECRET_KEY } from './nix-fixtures.js';

const ours = parseSigningKey(TEST_SECRET_KEY);
const theirs = parseSigningKey(nixKeyPair('theirs-1').secret);
/** Another key under our key's name: what a rotated or wrong key signs with. */
const impostor = parseSigningKey(nixKeyPair('test-1').secret);

const dep = '/nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep';
const local: LocalPath = {
  path: '/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top',
  narHash: 'sha256-/4xZ5xIhIe1UNY82vsJII4OMeV23kA4utLr1atIFMEw=',
  narSize: 824,
  references: [dep, '/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top'],
};
const NAR_HASH = 'sha256:0k1h0p96mxdsnhp0x45pbmwqr0r3931bwdlg6mafs8912bkmk37z';

function entry(overrides: Partial<NarInfo> = {}, signers = [ours]): NarInfo {
  const base: NarInfo = {
    storePath: local.path,
    url: 'nar/1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj.nar.zst',
    compression: 'zstd',
    fileHash: 'sha256:1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj',
    fileSize: 264,
    narHash: NAR_HASH,
    narSize: 824,
    references: [...local.references],
    sigs: [],
    ...overrides,
  };
  return { ...base, sigs: overrides.sigs ?? signers.map((k) => k.sign(fingerprint(base))) };
}

describe('readCachedNarInfo', () => {
  it('reads a narinfo that describes the local path', () => {
    const read = readCachedNarInfo(Buffer.from(renderNarInfo(entry())), local);
    expect(read).toEqual({ ok: true, narInfo: expect.objectContaining({ storePath: local.path, narHash: NAR_HASH }) });
  });

  it.each([
    ['garbage', 'this is not a narinfo', /is corrupt: line "this is not a narinfo" is not "Name: value"/],
    ['a truncated file', renderNarInfo(entry()).split('NarHash')[0] as string, /\.narinfo is corrupt: it has no NarSize/],
    ['an empty file', '', /is corrupt: it has no StorePath/],
    ['another path under the same hash', renderNarInfo(entry({ storePath: `${local.path}-other` })), /it describes \/nix\/store\/ws96\S+-golden-top-other/],
    ['a NAR outside the cache', renderNarInfo(entry({ url: '../elsewhere/x.nar.zst' })), /its URL "..\/elsewhere\/x.nar.zst" is not an object of this cache/],
    ['a NAR on another server', renderNarInfo(entry({ url: 'https://mirror.example.org/nar/x.nar' })), /is not an object of this cache/],
  ])('says why it cannot use %s', (_what, text, why) => {
    const read = readCachedNarInfo(text, local);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.problem).toMatch(why);
  });
});

describe('judgeCachedEntry', () => {
  it('keeps an entry whose NAR is there and which we signed', () => {
    expect(judgeCachedEntry(entry(), local, true, ours)).toEqual({ action: 'keep' });
  });

  it('keeps an entry we signed even if the local build differs: it is consistent as it is', () => {
    const other = entry({ narHash: 'sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s', narSize: 999 });
    expect(judgeCachedEntry(other, local, true, ours)).toEqual({ action: 'keep' });
  });

  it('re-pushes a path whose NAR is missing, whoever signed it', () => {
    for (const key of [ours, undefined]) {
      expect(judgeCachedEntry(entry(), local, false, key)).toEqual({
        action: 'repush',
        reason: 'nar-missing',
        detail: 'nar/1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj.nar.zst is not in the cache',
      });
    }
  });

  it('re-signs an entry signed only by another key, keeping that signature beside ours', () => {
    const foreign = entry({}, [theirs]);
    const verdict = judgeCachedEntry(foreign, local, true, ours);
    expect(verdict).toMatchObject({ action: 'resign', reason: 'unsigned', detail: 'no valid signature by test-1 (signed by theirs-1)' });
    if (verdict.action !== 'resign') throw new Error('not re-signed');
    const fp = fingerprint(foreign);
    expect(verdict.narInfo.sigs).toHaveLength(2);
    expect(verdict.narInfo.sigs.filter((s) => ours.publicKey.verify(fp, s))).toHaveLength(1);
    expect(verdict.narInfo.sigs.filter((s) => theirs.publicKey.verify(fp, s))).toHaveLength(1);
    // Everything else is the cache's entry as it was: same NAR, same hashes.
    expect({ ...verdict.narInfo, sigs: [] }).toEqual({ ...foreign, sigs: [] });
  });

  it('re-signs an unsigned entry', () => {
    const verdict = judgeCachedEntry(entry({ sigs: [] }), local, true, ours);
    expect(verdict).toMatchObject({ action: 'resign', detail: 'no valid signature by test-1 (unsigned)' });
  });

  it('replaces a bad signature under our key name, and drops lines that are no signature at all', () => {
    const forged = entry({}, [impostor]);
    forged.sigs.push('not a signature', `theirs-1:${Buffer.alloc(10).toString('base64')}`);
    const verdict = judgeCachedEntry(forged, local, true, ours);
    if (verdict.action !== 'resign') throw new Error(`expected a re-sign, got ${verdict.action}`);
    expect(verdict.narInfo.sigs).toEqual([ours.sign(fingerprint(forged))]);
  });

  it.each([
    ['NarHash', { narHash: 'sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s' }, /its NarHash sha256:1b8m\w+ is not the local sha256:0k1h\w+/],
    ['NarSize', { narSize: 825 }, /its NarSize 825 is not the local 824/],
    ['references', { references: [local.path] }, /its references are not the local ones/],
  ])('re-pushes rather than signs an entry that disagrees with the local path on its %s', (_field, change, why) => {
    const verdict = judgeCachedEntry(entry(change, [theirs]), local, true, ours);
    expect(verdict).toMatchObject({ action: 'repush', reason: 'narinfo-mismatch', detail: expect.stringMatching(why) });
  });

  it('without a key, checks only that the NAR is there', () => {
    expect(judgeCachedEntry(entry({}, [theirs]), local, true, undefined)).toEqual({ action: 'keep' });
    expect(judgeCachedEntry(entry({ narSize: 1 }, []), local, true, undefined)).toEqual({ action: 'keep' });
  });
});

describe('verifyCacheEntry', () => {
  const narinfoKey = 'ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv.narinfo';

  it('reads the narinfo, then asks for its NAR, and nothing else', async () => {
    const store = new MemoryStore();
    const asked: string[] = [];
    const watched = new MemoryStore({ before: (op, key) => void asked.push(`${op} ${key}`) });
    for (const s of [store, watched]) {
      await s.put(narinfoKey, renderNarInfo(entry()), 'text/x-nix-narinfo');
      await s.put(entry().url, 'nar', 'application/x-nix-nar');
    }
    asked.length = 0;
    expect(await verifyCacheEntry(watched, local, ours)).toEqual({ action: 'keep' });
    expect(asked).toEqual([`get ${narinfoKey}`, `has ${entry().url}`]);
    await store.delete(entry().url);
    expect(await verifyCacheEntry(store, local, ours)).toMatchObject({ action: 'repush', reason: 'nar-missing' });
  });

  it('is absent without a narinfo, and re-pushes one it cannot read without asking for a NAR', async () => {
    const asked: string[] = [];
    const store = new MemoryStore({ before: (op, key) => void asked.push(`${op} ${key}`) });
    expect(await verifyCacheEntry(store, local, ours)).toEqual({ action: 'absent' });
    await store.put(narinfoKey, 'StorePath: /nix/store/x\n', 'text/x-nix-narinfo');
    asked.length = 0;
    expect(await verifyCacheEntry(store, local, ours)).toMatchObject({ action: 'repush', reason: 'narinfo-unreadable', detail: expect.stringContaining(`${narinfoKey} is corrupt`) });
    expect(asked).toEqual([`get ${narinfoKey}`]);
  });
});
