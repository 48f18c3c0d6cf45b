import { compareVersions, describeVersions, diffClosures, parseStoreName, SIZE_DELTA_THRESHOLD } from '../../../src/bump/closure-diff.js';

const H = 'a'.repeat(32);
const p = (name: string, narSize = 1000) => ({ path: `/nix/store/${H.slice(0, 31)}${name.length % 10}-${name}`, narSize });

describe('parseStoreName', () => {
  it.each([
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-openssl-3.0.15', 'openssl', '3.0.15', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-openssl-3.0.15-dev', 'openssl', '3.0.15', 'dev'],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-glibc-2.40-36', 'glibc', '2.40-36', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-glibc-locales-2.40-36', 'glibc-locales', '2.40-36', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-nixos-system-web1-24.11.20241201.abc1234', 'nixos-system-web1', '24.11.20241201.abc1234', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-etc', 'etc', '', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-source', 'source', '', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-gcc-13.2.0-lib', 'gcc', '13.2.0', 'lib'],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-site-web1-2', 'site-web1', '2', ''],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-util-linux-2.39.4-bin', 'util-linux', '2.39.4', 'bin'],
    ['/nix/store/0c7c96gikmzv87i7lv3vq5s1cmfjd6zf-unit-script-nginx-pre-start', 'unit-script-nginx-pre', '', 'start'],
    ['openssl-3.0.15', 'openssl', '3.0.15', ''],
  ])('%s', (path, name, version, output) => {
    expect(parseStoreName(path)).toEqual({ name, version, output });
  });
});

describe('diffClosures', () => {
  it('finds changed, added and removed packages and the size delta', () => {
    const before = [p('openssl-3.0.15', 200_000), p('nginx-1.26.2', 100_000), p('tzdata-2024a', 50_000), p('etc', 1000)];
    const after = [p('openssl-3.0.16', 210_000), p('nginx-1.26.2', 100_000), p('rsync-3.3.0', 64_000), p('etc', 1000)];
    const diff = diffClosures(before, after);
    expect(diff.changes).toEqual([
      { name: 'openssl', kind: 'changed', removedVersions: ['3.0.15'], addedVersions: ['3.0.16'], sizeDelta: 10_000 },
      { name: 'rsync', kind: 'added', removedVersions: [], addedVersions: ['3.3.0'], sizeDelta: 64_000 },
      { name: 'tzdata', kind: 'removed', removedVersions: ['2024a'], addedVersions: [], sizeDelta: -50_000 },
    ]);
    expect(diff.before).toEqual({ paths: 4, size: 351_000 });
    expect(diff.after).toEqual({ paths: 4, size: 375_000 });
    expect(diff.sizeDelta).toBe(24_000);
  });

  it('counts a rebuild of the same version only when its size moves by 8 KiB or more', () => {
    const a = { path: `/nix/store/${'b'.repeat(32)}-etc`, narSize: 10_000 };
    const b = { path: `/nix/store/${'c'.repeat(32)}-etc`, narSize: 10_000 + SIZE_DELTA_THRESHOLD };
    const c = { path: `/nix/store/${'d'.repeat(32)}-etc`, narSize: 10_100 };
    expect(diffClosures([a], [b]).changes).toEqual([{ name: 'etc', kind: 'rebuilt', removedVersions: [], addedVersions: [], sizeDelta: SIZE_DELTA_THRESHOLD }]);
    expect(diffClosures([a], [c]).changes).toEqual([]);
  });

  it('groups outputs and several versions of one package', () => {
    const before = [p('gcc-13.2.0', 1000), p('gcc-13.2.0-lib', 500)];
    const after = [p('gcc-13.3.0', 1000), p('gcc-13.3.0-lib', 500), p('gcc-12.4.0-lib', 400)];
    expect(diffClosures(before, after).changes).toEqual([{ name: 'gcc', kind: 'changed', removedVersions: ['13.2.0'], addedVersions: ['12.4.0', '13.3.0'], sizeDelta: 400 }]);
  });

  it('counts a path listed twice once', () => {
    const x = p('x-1', 10);
    expect(diffClosures([x, x], [x]).before).toEqual({ paths: 1, size: 10 });
  });

  it('writes versions like nix store diff-closures', () => {
    expect(describeVersions({ name: 'a', kind: 'changed', removedVersions: ['1.9'], addedVersions: ['1.10'], sizeDelta: 0 })).toBe('1.9 → 1.10');
    expect(describeVersions({ name: 'a', kind: 'added', removedVersions: [], addedVersions: [''], sizeDelta: 0 })).toBe('∅ → ε');
    expect(['1.10', '1.9', '1.2'].sort(compareVersions)).toEqual(['1.2', '1.9', '1.10']);
  });
});
