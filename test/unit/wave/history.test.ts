import {
  appendHistory,
  HISTORY_PREFIX,
  historyKey,
  historyKeyTime,
  historyRecord,
  parseHistoryRecord,
  pruneHistory,
  renderHistoryRecord,
  readHistory,
  runningSince,
  statusHistory,
  waveDurations,
  withCurrent,
  type DatedRecord,
  type HistoryRecord,
} from '../../../src/wave/history.js';
import type { WaveReport } from '../../../src/wave/report.js';
import type { GroupGate, HostGate } from '../../../src/wave/types.js';
import { MemoryStore } from '../../support/memory-store.js';

const HOUR = 3_600_000;
const T0 = new Date('2025-03-10T08:00:00Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const path = (name: string) => `/nix/store/${name.padEnd(32, 'v').slice(0, 32)}-nixos-system`;

type HostSpec = [wave: string, state: HostGate['state'], running: string | null, expected: string | null];

function record(hours: number, waves: Record<string, GroupGate['state']>, hosts: Record<string, HostSpec>): DatedRecord {
  const r: HistoryRecord = { format: 1, at: at(hours).toISOString(), w: waves, h: {} };
  for (const [host, [w, s, running, expected]] of Object.entries(hosts)) r.h[host] = { w, s, r: running && path(running), e: expected && path(expected) };
  return { key: historyKey(at(hours)), at: at(hours), record: r };
}

/**
 * Five hourly runs. web1 runs a, then b, then c (changed twice); stage1 never changes; stage2 is
 * unknown once in between. Wave first gets new expected systems at +1h and passes at +3h; wave
 * middle never passes.
 */
const RECORDS: DatedRecord[] = [
  record(0, { first: 'passed', middle: 'waiting' }, { stage1: ['first', 'passing', 's1', 's1'], stage2: ['first', 'passing', 's2', 's2'], web1: ['middle', 'behind', 'a', 'w'] }),
  record(1, { first: 'waiting', middle: 'waiting' }, { stage1: ['first', 'behind', 's1', 's1-new'], stage2: ['first', 'behind', 's2', 's2-new'], web1: ['middle', 'behind', 'a', 'w'] }),
  record(2, { first: 'waiting', middle: 'waiting' }, { stage1: ['first', 'behind', 's1', 's1-new'], stage2: ['first', 'straggler', null, 's2-new'], web1: ['middle', 'behind', 'b', 'w'] }),
  record(3, { first: 'passed', middle: 'waiting' }, { stage1: ['first', 'unchanged', 's1', 's1-new'], stage2: ['first', 'passing', 's2', 's2-new'], web1: ['middle', 'failed', 'c', 'w'] }),
  record(4, { first: 'passed', middle: 'waiting' }, { stage1: ['first', 'unchanged', 's1', 's1-new'], stage2: ['first', 'passing', 's2', 's2-new'], web1: ['middle', 'soaking', 'c', 'w'] }),
];

describe('status history records', () => {
  const gate = (name: string, state: GroupGate['state'], hosts: Partial<HostGate>[]) => ({ name, state, hosts }) as unknown as GroupGate;
  const report = {
    generatedAt: new Date('2025-03-10T12:34:56.789Z'),
    waves: [
      gate('first', 'passed', [{ host: 'stage1', state: 'passing', running: path('s1'), expected: path('s1') }]),
      gate('middle', 'waiting', [{ host: 'web1', state: 'straggler', expected: path('w') }]),
    ],
  } as Pick<WaveReport, 'generatedAt' | 'waves' | 'outsideWaves'>;

  it('are keyed by the run\'s time to the second', () => {
    expect(historyKey(report.generatedAt)).toBe('fleet/status-history/20250310T123456Z.json');
    expect(historyKeyTime('fleet/status-history/20250310T123456Z.json')).toEqual(new Date('2025-03-10T12:34:56Z'));
    expect(historyKeyTime('fleet/status-history/notes.txt')).toBeUndefined();
  });

  it('round-trip through a store: each wave\'s state, each host\'s wave, state, running and expected system', async () => {
    const store = new MemoryStore();
    const written = historyRecord(report);
    expect(written).toEqual({
      format: 1,
      at: '2025-03-10T12:34:56.789Z',
      w: { first: 'passed', middle: 'waiting' },
      h: { stage1: { w: 'first', s: 'passing', r: path('s1'), e: path('s1') }, web1: { w: 'middle', s: 'straggler', r: null, e: path('w') } },
    });
    const key = await appendHistory(store, written);
    expect(key).toBe('fleet/status-history/20250310T123456Z.json');
    // One line of JSON: compact.
    expect(store.objects.get(key)?.body.toString()).toBe(`${JSON.stringify(written)}\n`);
    const read = await readHistory(store, { now: report.generatedAt });
    expect(read.problems).toEqual([]);
    expect(read.records).toEqual([{ key, at: report.generatedAt, record: written }]);
  });

  it('records the hosts in no wave with wave ""', () => {
    const written = historyRecord({ ...report, outsideWaves: [{ host: 'builder', state: 'failed', running: path('b'), expected: path('b') } as HostGate] });
    expect(written.h.builder).toEqual({ w: '', s: 'failed', r: path('b'), e: path('b') });
    expect(Object.keys(written.w)).toEqual(['first', 'middle']);
    expect(parseHistoryRecord(renderHistoryRecord(written), 'it')).toEqual(written);
  });

  it('prunes the records older than the age readers read, and no other key', async () => {
    const now = new Date('2025-09-10T00:00:00Z');
    const store = new MemoryStore();
    const keys = ['20250313T235959Z', '20250314T000000Z', '20250315T000000Z'].map((t) => `${HISTORY_PREFIX}${t}.json`);
    for (const key of [...keys, `${HISTORY_PREFIX}notes.txt`, 'fleet/status/web1.json']) await store.put(key, '{}', 'application/json');
    // 180 days before now is 2025-03-14T00:00:00Z: the record at that second is still read, so kept.
    expect(await pruneHistory(store, { now })).toEqual([keys[0]]);
    expect([...store.objects.keys()].sort()).toEqual([`${HISTORY_PREFIX}20250314T000000Z.json`, `${HISTORY_PREFIX}20250315T000000Z.json`, `${HISTORY_PREFIX}notes.txt`, 'fleet/status/web1.json']);
    expect((await readHistory(store, { now })).problems.map((p) => p.key)).toEqual([keys[1], keys[2]]);
    expect(await pruneHistory(store, { now })).toEqual([]);
  });

  it('refuses what is not a record, naming it', () => {
    expect(() => parseHistoryRecord('{"format":2}', 'x.json')).toThrow(/^x\.json is not a status history record: /);
    expect(() => parseHistoryRecord('{"format":1,"at":"2025-03-10T12:00:00Z","w":{},"h":{"a":{"w":"x","s":"asleep","r":null,"e":null}}}', 'x.json')).toThrow('is not a status history record');
  });

  it('reads the newest records oldest first, skipping with a problem each record it cannot read or parse', async () => {
    const store = new MemoryStore({
      before: (op, key) => {
        if (op === 'get' && key.endsWith('T103000Z.json')) throw new Error('AccessDenied');
      },
    });
    for (const r of RECORDS) await store.put(r.key, JSON.stringify(r.record), 'application/json');
    await store.put(`${HISTORY_PREFIX}20250310T090500Z.json`, '{"format":1,"at":', 'application/json');
    await store.put(`${HISTORY_PREFIX}20250310T103000Z.json`, JSON.stringify(RECORDS[2]?.record), 'application/json');
    await store.put(`${HISTORY_PREFIX}README`, 'not a record', 'text/plain');
    const read = await readHistory(store, { now: at(4) });
    expect(read.records.map((r) => r.at)).toEqual(RECORDS.map((r) => r.at));
    expect(read.problems).toEqual([
      { key: 'fleet/status-history/20250310T090500Z.json', message: expect.stringMatching(/^it is not a status history record: .*JSON/) },
      { key: 'fleet/status-history/20250310T103000Z.json', message: 'AccessDenied' },
    ]);
  });

  it('reads at most the newest N records, none older than the age limit', async () => {
    const store = new MemoryStore();
    for (const r of RECORDS) await store.put(r.key, JSON.stringify(r.record), 'application/json');
    const old = record(-200 * 24, {}, {});
    await store.put(old.key, JSON.stringify(old.record), 'application/json');
    expect((await readHistory(store, { now: at(4) })).records).toHaveLength(5);
    expect((await readHistory(store, { now: at(4), maxRecords: 2 })).records.map((r) => r.at)).toEqual([at(3), at(4)]);
    expect((await readHistory(store, { now: at(4), maxAgeMs: 2.5 * HOUR })).records.map((r) => r.at)).toEqual([at(2), at(3), at(4)]);
  });

  it('puts the run\'s own record last, in place of one read at the same key', () => {
    const current = { ...(RECORDS[4] as DatedRecord).record, w: { first: 'failed' as const, middle: 'waiting' as const } };
    const merged = withCurrent(RECORDS, current);
    expect(merged).toHaveLength(5);
    expect(merged.at(-1)?.record.w.first).toBe('failed');
  });
});

describe('running since', () => {
  const since = runningSince(RECORDS);

  it('is the first record of the newest run with the same system, for a host that changed twice', () => {
    expect(since.get('web1')).toEqual({ since: at(3), before: false });
  });

  it('is "before" the oldest record when every record agrees, an unknown system not breaking the run', () => {
    expect(since.get('stage1')).toEqual({ since: at(0), before: true });
    expect(since.get('stage2')).toEqual({ since: at(0), before: true });
  });

  it('counts from the run where the host first appears, and knows nothing of a host whose system is unknown now', () => {
    const added = [...RECORDS, record(5, { first: 'passed', middle: 'waiting' }, { stage1: ['first', 'straggler', null, 's1-new'], web2: ['middle', 'behind', 'x', 'w2'] })];
    const later = runningSince(added);
    expect(later.get('web2')).toEqual({ since: at(5), before: true });
    expect(later.has('stage1')).toBe(false);
  });
});

describe('wave durations', () => {
  const waves = waveDurations(RECORDS);

  it('run from the record where the wave\'s expected systems became the current ones to the first passed record', () => {
    expect(waves.get('first')).toEqual({ since: at(1), before: false, passedAt: at(3), ms: 2 * HOUR });
  });

  it('count up to the newest record for a wave not passed yet', () => {
    expect(waves.get('middle')).toEqual({ since: at(0), before: true, ms: 4 * HOUR });
  });

  it('start again when a host joins the wave', () => {
    const hosts: Record<string, HostSpec> = { stage1: ['first', 'unchanged', 's1', 's1-new'], stage2: ['first', 'passing', 's2', 's2-new'], web1: ['middle', 'soaking', 'c', 'w'] };
    const joined = waveDurations([...RECORDS, record(5, { first: 'passed', middle: 'waiting' }, { ...hosts, web2: ['middle', 'behind', 'x', 'w2'] })]);
    expect(joined.get('first')).toEqual({ since: at(1), before: false, passedAt: at(3), ms: 2 * HOUR });
    expect(joined.get('middle')).toEqual({ since: at(5), before: false, ms: 0 });
  });

  it('are gathered with the host times for the page', () => {
    const history = statusHistory(RECORDS, [{ key: 'k', message: 'm' }]);
    expect(history).toMatchObject({ records: 5, oldest: at(0), newest: at(4), problems: [{ key: 'k', message: 'm' }] });
    expect(history?.hosts.get('web1')?.since).toEqual(at(3));
    expect(history?.waves.get('first')?.ms).toBe(2 * HOUR);
    expect(statusHistory([])).toBeUndefined();
  });
});
