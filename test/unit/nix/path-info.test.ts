import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  contentAddressText,
  parsePathInfoJson,
  sortByReferences,
  storePathBaseName,
  storePathHashPart,
  totalNarSize,
  type PathInfo,
} from '../../../src/nix/path-info.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)), 'utf8');

const B = '/nix/store/0s96qb5kwkd9qwg84sv19i2w26xnwwmv-b-2.0';
const DEP = '/nix/store/ahh7n98qw88dkfh7rk1vsxj1idy5zz7g-dep-1.0';
const HELLO = '/nix/store/gy454w1cxaq731grqwylhzf4pp9r5izh-hello.txt';
const INVALID = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x';

// What every format must normalize to (hashes checked against `nix hash to-base32`).
const EXPECTED: Record<string, Partial<PathInfo>> = {
  [B]: {
    path: B,
    narHash: 'sha256:131n245gkk6p1c3rgqa87lpr7lbd2yz4y6pyfwc1nmlvsn3x11jd',
    narSize: 336,
    references: [DEP],
    deriver: '/nix/store/p9gi9mwzzx6rq9f3k60cxakd2pccdbyp-b-2.0.drv',
    signatures: [],
    closureSize: 456,
    registrationTime: 1795316135,
  },
  [DEP]: {
    path: DEP,
    narHash: 'sha256:00kjynz8n03652qccs76ivsvark3pr3dfr6w1ba3x7bx83kcknvv',
    narSize: 120,
    references: [],
    deriver: '/nix/store/5kvn6fp24r3y3f5y7fiq5cx1bnnygxml-dep-1.0.drv',
    signatures: ['cache.example.org-1:3UrKO7CKoItpkkuvpV5EQp0zhno8Jfpuclr7s8baRM4aeWlgb1s7O9uvAuvZWEdt+Czgi7LaWDVEblJzV/2yBA=='],
  },
  [HELLO]: {
    path: HELLO,
    narHash: 'sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw',
    narSize: 120,
    references: [],
    ca: 'fixed:sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq',
    signatures: [],
  },
};

describe('parsePathInfoJson', () => {
  it.each(['path-info-2.8.json'])('normalizes %s', (name) => {
    const { infos, invalid } = parsePathInfoJson(fixture(name));
    expect(invalid).toEqual([INVALID]);
    expect(infos.map((i) => i.path).sort()).toEqual([B, DEP, HELLO]);
    for (const info of infos) expect(info).toMatchObject(EXPECTED[info.path] as object);
    expect(infos.find((i) => i.path === HELLO)?.deriver).toBeUndefined();
  });

  it('renders structured content addresses in narinfo form', () => {
    const sri = 'sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=';
    const nix32 = 'sha256:00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq';
    expect(contentAddressText({ method: 'flat', hash: sri })).toBe(`fixed:${nix32}`);
    expect(contentAddressText({ method: 'nar', hash: sri })).toBe(`fixed:r:${nix32}`);
    expect(contentAddressText({ method: 'text', hash: sri })).toBe(`text:${nix32}`);
    expect(contentAddressText('text:sha256:0j4cs2snc0wc5rp9ghjwyydzzmfkndzw9iqibqgg4wswf7xpwgsn')).toBe('text:sha256:0j4cs2snc0wc5rp9ghjwyydzzmfkndzw9iqibqgg4wswf7xpwgsn');
    expect(contentAddressText(null)).toBeUndefined();
    expect(() => contentAddressText({ method: 'magic' })).toThrow(/unexpected content address/);
  });

  it('unwraps a versioned document and honours its storeDir', () => {
    const { infos } = parsePathInfoJson({
      version: 2,
      info: {
        'ahh7n98qw88dkfh7rk1vsxj1idy5zz7g-dep-1.0': { narHash: 'sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cgI=', narSize: 120, references: [], storeDir: '/gnu/store' },
      },
    });
    expect(infos[0]?.path).toBe('/gnu/store/ahh7n98qw88dkfh7rk1vsxj1idy5zz7g-dep-1.0');
  });

  it('rejects output that is not path-info', () => {
    expect(() => parsePathInfoJson('42')).toThrow(/neither an array nor an object/);
    expect(() => parsePathInfoJson('[{"narHash":"sha256-x"}]')).toThrow(/unexpected path-info entry/);
    expect(() => parsePathInfoJson(`{"${B}": {"narSize": 1}}`)).toThrow(/has no narHash/);
    expect(() => parsePathInfoJson(`{"${B}": {"narHash": "md5:abc", "narSize": 1}}`)).toThrow(/is a md5 hash, expected sha256/);
    expect(() => parsePathInfoJson('not json')).toThrow();
  });
});

describe('closure helpers', () => {
  const { infos } = parsePathInfoJson(fixture('path-info-2.8.json'));

  it('sums NAR sizes counting each path once', () => {
    expect(totalNarSize([...infos, ...infos])).toBe(336 + 120 + 120);
  });

  it('orders paths after their references', () => {
    const order = sortByReferences(infos).map((i) => i.path);
    expect(order.indexOf(DEP)).toBeLessThan(order.indexOf(B));
    expect(order).toHaveLength(3);
  });

  it('ignores self-references and fails on cycles', () => {
    const self = { ...(infos[0] as PathInfo), references: [B, DEP] };
    expect(sortByReferences([self, infos[1] as PathInfo]).map((i) => i.path)).toEqual([DEP, B]);
    const a = { ...(infos[0] as PathInfo), references: [DEP] };
    const b = { ...(infos[1] as PathInfo), references: [B] };
    expect(() => sortByReferences([a, b])).toThrow(/reference cycle/);
  });

  it('splits store paths', () => {
    expect(storePathHashPart(B)).toBe('0s96qb5kwkd9qwg84sv19i2w26xnwwmv');
    expect(storePathBaseName(B)).toBe('0s96qb5kwkd9qwg84sv19i2w26xnwwmv-b-2.0');
    expect(() => storePathHashPart('/nix/store/not-a-path')).toThrow(/not a store path/);
  });
});
