import { describe, expect, it } from '@jest/globals';
import { renderNarInfo } from '../../../src/cache/narinfo.js';
import { collectGarbage, type CollectOptions } from '../../../src/gc/collect.js';
import { CONDEMNED_KEY, readCondemned, writeBuildRecord } from '../../../src/gc/records.js';
import { memoryLog } from '../../../src/util/log.js';
import { MemoryStore } from '../../support/memory-store.js';

const HOUR = 3_600_000;
const NAR_HASH = 'sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s';
/** A store path whose hash part starts with `letter` (32 nix32 digits). */
const path = (letter: string, name: string) => `/nix/store/${letter.repeat(32)}-${name}`;
const A = path('a', 'nixos-system-web1');
const B = path('b', 'glibc');
const C = path('c', 'nixos-system-web1-old');
const D = path('d', 'openssl-old');
const E = path('f', 'nixos-system-web2');

/** A cache holding `paths` (path → references), each with its NAR, written `ageMs` ago. */
function cache(paths: Record<string, string[]>, ageMs = 10 * HOUR): MemoryStore {
  const store = new MemoryStore();
  add(store, paths, ageMs);
  return store;
}

function add(store: MemoryStore, paths: Record<string, string[]>, ageMs: number): void {
  const at = new Date(Date.now() - ageMs);
  for (const [storePath, references] of Object.entries(paths)) {
    const hash = storePath.slice(11, 43);
    const nar = `nar/${hash}.nar.zst`;
    store.objects.set(`${hash}.narinfo`, { body: Buffer.from(renderNarInfo({ storePath, url: nar, compression: 'zstd', narHash: NAR_HASH, narSize: 100, references, sigs: [] })), contentType: 'text/x-nix-narinfo', modifiedAt: at });
    store.objects.set(nar, { body: Buffer.alloc(64), contentType: 'application/x-nix-nar', modifiedAt: at });
  }
}

const pointer = (system: string) =>
  JSON.stringify({ format: 1, storePath: path('m', 'fleet-manifest'), narHash: NAR_HASH, narSize: 10, signatures: [], manifest: { system } });

function options(store: MemoryStore, extra: Partial<CollectOptions> = {}): CollectOptions {
  return { store, keepBuilds: 2, keepGenerations: 1, pinned: [], minAgeMs: HOUR, dryRun: false, log: memoryLog(), ...extra };
}

/** Runs a collection `hoursLater` from now (so condemned paths have aged). */
const collectAt = (store: MemoryStore, hoursLater: number, extra: Partial<CollectOptions> = {}) => collectGarbage(options(store, { now: () => new Date(Date.now() + hoursLater * HOUR), ...extra }));
const hashesIn = (store: MemoryStore) => [...store.objects.keys()].filter((k) => k.endsWith('.narinfo')).map((k) => k[0]).sort().join('');

describe('cache garbage collection', () => {
  it('keeps the closures of the pinned paths and condemns the rest, deleting it only on a collection min-age later', async () => {
    const store = cache({ [A]: [A, B], [B]: [], [C]: [D], [D]: [] });
    add(store, { [path('m', 'fleet-manifest')]: [] }, 10 * HOUR);
    const first = await collectAt(store, 0, { pinned: [A] });
    expect(first.condemned).toEqual({ narinfos: 3, nars: 3, bytes: 192 });
    expect(first.deleted.narinfos).toBe(0);
    expect(hashesIn(store)).toBe('abcdm');
    expect([...(await readCondemned(store)).since.keys()].sort()).toEqual([`${'c'.repeat(32)}.narinfo`, `${'d'.repeat(32)}.narinfo`, `${'m'.repeat(32)}.narinfo`, `nar/${'c'.repeat(32)}.nar.zst`, `nar/${'d'.repeat(32)}.nar.zst`, `nar/${'m'.repeat(32)}.nar.zst`]);

    // Not yet condemned for min-age: still nothing goes.
    expect((await collectAt(store, 0.5, { pinned: [A] })).deleted.narinfos).toBe(0);
    const second = await collectAt(store, 2, { pinned: [A] });
    expect(second.deleted).toEqual({ narinfos: 3, nars: 3, bytes: 192 });
    expect(hashesIn(store)).toBe('ab');
    expect(store.objects.has(`nar/${'a'.repeat(32)}.nar.zst`)).toBe(true);
    // Every narinfo went before any NAR.
    const lastNarinfo = Math.max(...store.deletions.map((k, i) => (k.endsWith('.narinfo') ? i : -1)));
    const firstNar = store.deletions.findIndex((k) => k.startsWith('nar/'));
    expect(lastNarinfo).toBeLessThan(firstNar);
    expect((await readCondemned(store)).since.size).toBe(0);
  });

  it('keeps what manifests, host reports (with their earlier generations, up to keep-generations) and the last builds of each ref name', async () => {
    const F = path('g', 'gen-1');
    const G = path('h', 'gen-2');
    const store = cache({ [A]: [B], [B]: [], [C]: [], [D]: [], [E]: [], [F]: [], [G]: [], [path('m', 'fleet-manifest')]: [], [path('i', 'build-1')]: [], [path('j', 'build-2')]: [], [path('k', 'build-3')]: [] });
    await store.put('fleet/production/web1.json', pointer(A), 'application/json');
    await store.put(
      'fleet/status/web2.json',
      JSON.stringify({ format: 1, host: 'web2', system: E, booted: C, profileGeneration: 7, failedUnits: [], needsReboot: true, lastError: null, reportedAt: '2026-12-01T10:00:00Z', adoptedAt: '2026-12-01T09:00:00Z', manifestSequence: 3, agentVersion: '1', desired: null, generations: [F, G] }),
      'application/json',
    );
    for (const [i, p] of [path('i', 'build-1'), path('j', 'build-2'), path('k', 'build-3')].entries()) {
      await writeBuildRecord(store, { format: 1, ref: 'refs/heads/main', sha: `${i}`.repeat(40), builtAt: `2026-11-0${i + 1}T10:00:00Z`, storePaths: { db1: p } });
    }
    for (const key of store.objects.keys()) if (key.startsWith('fleet/')) (store.objects.get(key) as { modifiedAt: Date }).modifiedAt = new Date(Date.now() - 10 * HOUR);
    const report = await collectAt(store, 0, { keepGenerations: 1, keepBuilds: 2 });
    expect(report.roots).toMatchObject({ manifest: 2, running: 1, booted: 1, generation: 1, build: 2, pinned: 0 });
    // D, G (the second earlier generation) and the oldest build are unreachable.
    expect(report.condemned.narinfos).toBe(3);
    const condemned = [...(await readCondemned(store)).since.keys()].filter((k) => k.endsWith('.narinfo')).map((k) => k[0]).sort();
    expect(condemned).toEqual(['d', 'h', 'i']);
  });

  it('keeps a young narinfo and everything it references, however old', async () => {
    const store = cache({ [B]: [], [D]: [] });
    add(store, { [A]: [B] }, 0);
    await collectAt(store, 0);
    const later = await collectAt(store, 0.9);
    expect(later.deleted.narinfos).toBe(0);
    expect([...(await readCondemned(store)).since.keys()].filter((k) => k.endsWith('.narinfo'))).toEqual([`${'d'.repeat(32)}.narinfo`]);
  });

  it('changes nothing in a dry run, and says what would go', async () => {
    const store = cache({ [A]: [], [C]: [] });
    await collectAt(store, 0, { pinned: [A] });
    const before = new Map(store.objects);
    const dry = await collectAt(store, 2, { pinned: [A], dryRun: true });
    expect(dry.deleted).toEqual({ narinfos: 1, nars: 1, bytes: 64 });
    expect(new Map(store.objects)).toEqual(before);
    expect(store.deletions).toEqual([]);
  });

  it('spares a condemned path that a push rewrites, or that a narinfo arriving during the collection references', async () => {
    const store = cache({ [A]: [], [C]: [], [D]: [] });
    await collectAt(store, 0, { pinned: [A] });
    const report = await collectAt(store, 2, {
      pinned: [A],
      // A build lands while the collection runs: it pushed C again (condemned, so not relied on) and a new path on D.
      beforeSweep: async () => {
        add(store, { [C]: [] }, 0);
        add(store, { [E]: [D] }, 0);
      },
    });
    expect(report.spared).toBe(4);
    expect(report.deleted.narinfos).toBe(0);
    expect(hashesIn(store)).toBe('acdf');
    for (const hash of ['c', 'd', 'f']) expect(store.objects.has(`nar/${hash.repeat(32)}.nar.zst`)).toBe(true);
  });

  it('is finished by the next run when killed between the narinfos and the NARs, never leaving a narinfo without its NAR', async () => {
    let failNars = true;
    const store = cache({ [A]: [], [C]: [], [D]: [] });
    const flaky = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'deleteMany') {
          return async (keys: readonly string[]) => {
            if (failNars && keys.some((k) => k.startsWith('nar/'))) throw new Error('killed');
            return target.deleteMany(keys);
          };
        }
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    await collectAt(store, 0, { pinned: [A] });
    await expect(collectGarbage(options(store, { store: flaky, pinned: [A], now: () => new Date(Date.now() + 2 * HOUR) }))).rejects.toThrow('killed');
    expect(hashesIn(store)).toBe('a');
    for (const key of store.objects.keys()) {
      if (key.endsWith('.narinfo')) expect(store.objects.has(`nar/${key.slice(0, 32)}.nar.zst`)).toBe(true);
    }
    failNars = false;
    const rerun = await collectAt(store, 3, { pinned: [A] });
    expect(rerun.deleted.nars).toBe(2);
    expect([...store.objects.keys()].filter((k) => k.startsWith('nar/'))).toEqual([`nar/${'a'.repeat(32)}.nar.zst`]);
  });

  it('never deletes a NAR while a narinfo that stays points to it, whatever the record says', async () => {
    const store = cache({ [A]: [], [C]: [] });
    const c = 'c'.repeat(32);
    // The NAR was condemned long ago, its narinfo only just now (it had been pushed again in between).
    await store.put(CONDEMNED_KEY, JSON.stringify({ format: 1, condemned: { [new Date(Date.now() - 5 * HOUR).toISOString()]: [`nar/${c}.nar.zst`], [new Date().toISOString()]: [`${c}.narinfo`] } }), 'application/json');
    const report = await collectAt(store, 0, { pinned: [A] });
    expect(report.deleted).toEqual({ narinfos: 0, nars: 0, bytes: 0 });
    expect(store.objects.has(`nar/${c}.nar.zst`)).toBe(true);
    const later = await collectAt(store, 2, { pinned: [A] });
    expect(later.deleted).toEqual({ narinfos: 1, nars: 1, bytes: 64 });
  });

  it('deletes nothing when it cannot tell what a pointer or a report keeps, naming it', async () => {
    const store = cache({ [A]: [], [C]: [] });
    await collectAt(store, 0, { pinned: [A] });
    await store.put('fleet/production/web1.json', '{"format":1', 'application/json');
    await expect(collectAt(store, 2, { pinned: [A] })).rejects.toThrow('cannot tell what fleet/production/web1.json keeps, so nothing is collected');
    expect(store.deletions).toEqual([]);
    await store.put('fleet/production/web1.json', pointer(A), 'application/json');
    await store.put(CONDEMNED_KEY, 'not json', 'application/json');
    await expect(collectAt(store, 2, { pinned: [A] })).rejects.toThrow(`${CONDEMNED_KEY} is not a condemnation record`);
    expect(store.deletions).toEqual([]);
  });

  it("reads fleet's own objects (status history, build records, its record) as no manifest pointers", async () => {
    const store = cache({ [A]: [], [C]: [] });
    await store.put('fleet/status-history/20261201T060000Z.json', '{"format":1,"at":"2026-12-01T06:00:00Z","w":{},"h":{}}', 'application/json');
    await store.put('fleet/production/web1.json', pointer(A), 'application/json');
    const report = await collectAt(store, 0);
    expect(report.roots.manifest).toBe(2);
    expect(report.condemned.narinfos).toBe(1);
  });

  it('warns about roots the cache does not hold, and keeps going', async () => {
    const store = cache({ [C]: [] });
    const log = memoryLog();
    const report = await collectAt(store, 0, { pinned: [A], log });
    expect(report.missing).toEqual([{ path: 'a'.repeat(32), why: `${A} (pinned of inventory) is not in the cache` }]);
    expect(log.lines.join('\n')).toContain(`${A} (pinned of inventory) is not in the cache`);
  });
});
