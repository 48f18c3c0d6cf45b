import { renderNarInfo, narInfoKey } from '../../../src/cache/narinfo.js';
import { cacheClosures, firstClosure, sizeChange, type NarInfoReader } from '../../../src/wave/sizes.js';

const HASH = 'sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s';
const p = (name: string) => `/nix/store/${name.padStart(32, '0').slice(0, 32)}-${name}`;

/** A cache in memory: narinfos of a small graph (glibc shared, app v1 and v2). */
function cache(entries: { path: string; narSize: number; fileSize?: number; refs: string[] }[], broken: string[] = []): NarInfoReader & { reads: string[] } {
  const files = new Map<string, string>();
  for (const e of entries) {
    files.set(narInfoKey(e.path), renderNarInfo({ storePath: e.path, url: `nar/${e.path.slice(11, 20)}.nar.xz`, compression: 'xz', narHash: HASH, narSize: e.narSize, ...(e.fileSize !== undefined ? { fileSize: e.fileSize } : {}), references: e.refs, sigs: [] }));
  }
  for (const path of broken) files.set(narInfoKey(path), 'garbage');
  const reads: string[] = [];
  return {
    reads,
    get: async (key) => {
      reads.push(key);
      const text = files.get(key);
      return text === undefined ? undefined : Buffer.from(text);
    },
  };
}

const glibc = p('glibc');
const appV1 = p('app1');
const appV2 = p('app2');
const sys1 = p('sys1');
const sys2 = p('sys2');
const graph = [
  { path: glibc, narSize: 1000, fileSize: 400, refs: [glibc] },
  { path: appV1, narSize: 200, fileSize: 80, refs: [glibc] },
  { path: appV2, narSize: 300, fileSize: 120, refs: [glibc] },
  { path: sys1, narSize: 10, fileSize: 5, refs: [appV1, glibc] },
  { path: sys2, narSize: 12, fileSize: 6, refs: [appV2, glibc] },
];

describe('closure sizes', () => {
  it('walks narinfos and counts the compressed download of the new paths only', async () => {
    const store = cache(graph);
    const change = await sizeChange('web1', sys1, sys2, cacheClosures(store));
    expect(change).toEqual({ host: 'web1', from: sys1, to: sys2, closureBefore: 1210, closureAfter: 1312, change: 102, download: 126, downloadCompressed: true });
    // Each narinfo is fetched once, shared paths included.
    expect(store.reads.filter((k) => k === narInfoKey(glibc))).toHaveLength(1);
  });

  it('uses NAR sizes when the cache does not tell compressed sizes', async () => {
    const store = cache(graph.map(({ fileSize: _f, ...e }) => e));
    expect(await sizeChange('web1', sys1, sys2, cacheClosures(store))).toMatchObject({ download: 312, downloadCompressed: false });
  });

  it('says unknown when a closure is incomplete or unreadable', async () => {
    const missingRef = cache(graph.filter((e) => e.path !== appV2));
    expect(await sizeChange('web1', sys1, sys2, cacheClosures(missingRef))).toEqual({
      host: 'web1',
      from: sys1,
      to: sys2,
      closureBefore: 1210,
      note: 'the new closure is in neither the cache nor the local store',
    });
    const broken = cache(graph.filter((e) => e.path !== sys1), [sys1]);
    expect((await sizeChange('web1', sys1, sys2, cacheClosures(broken))).note).toBe('the running closure is in neither the cache nor the local store');
    expect(await sizeChange('web1', sys1, undefined, cacheClosures(broken))).toEqual({ host: 'web1', from: sys1, note: 'the new system is not known' });
    expect(await sizeChange('web1', sys2, sys2, cacheClosures(broken))).toMatchObject({ change: 0, download: 0, note: 'no change' });
  });

  it('asks sources in order until one knows the path', async () => {
    const none = async () => undefined;
    const closure = await firstClosure(none, cacheClosures(cache(graph)))(sys1);
    expect([...(closure?.keys() ?? [])].sort()).toEqual([appV1, glibc, sys1].sort());
    expect(await firstClosure(none, none)(sys1)).toBeUndefined();
  });
});
