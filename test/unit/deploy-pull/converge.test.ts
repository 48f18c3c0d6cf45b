import { describe, expect, it } from '@jest/globals';
import { renderStatusReport, statusReportKey, type HostStatusReport } from '../../../src/fleet/status.js';
import { classifyReport, waitForConvergence, type ConvergenceTarget } from '../../../src/deploy/pull/converge.js';
import { MemoryStore } from '../../support/memory-store.js';

const OLD = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-a-24.11';
const NEW = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-a-24.11';
const ISSUED = new Date('2025-03-01T10:00:00Z');

const target = (host = 'a', extra: Partial<ConvergenceTarget> = {}): ConvergenceTarget => ({ host, system: NEW, sequence: 5, action: 'switch', issuedAt: ISSUED, ...extra });
const report = (host = 'a', extra: Partial<HostStatusReport> = {}): HostStatusReport => ({
  host,
  system: NEW,
  booted: OLD,
  profileGeneration: 8,
  failedUnits: [],
  needsReboot: false,
  lastError: null,
  reportedAt: new Date('2025-03-01T10:05:00Z'),
  adoptedAt: new Date('2025-03-01T10:04:00Z'),
  manifestSequence: 5,
  agentVersion: '1.0.0',
  desired: NEW,
  ...extra,
});

describe('classifyReport', () => {
  it.each<[string, HostStatusReport | undefined, Partial<ConvergenceTarget>, ReturnType<typeof classifyReport>]>([
    ['no report yet', undefined, {}, { state: 'pending', reason: 'no status report yet' }],
    [
      'an older sequence, not heard from since',
      report('a', { manifestSequence: 4, system: OLD, reportedAt: new Date('2025-03-01T09:00:00Z'), adoptedAt: new Date('2025-03-01T08:00:00Z') }),
      {},
      { state: 'pending', reason: 'no report since the manifest was issued (last 2025-03-01T09:00:00.000Z)' },
    ],
    [
      'an older sequence with a fresh error (cache unreachable)',
      report('a', { manifestSequence: 4, system: OLD, lastError: 'could not fetch X' }),
      {},
      { state: 'pending', reason: `reports manifest 4 and runs ${OLD}; its last run failed: could not fetch X` },
    ],
    ['the new system, healthy', report(), {}, { state: 'final', outcome: 'succeeded', message: 'runs the new system' }],
    ['the new system, reboot pending', report('a', { needsReboot: true }), {}, { state: 'final', outcome: 'succeeded', message: 'runs the new system; a reboot is pending' }],
    [
      'the new system with failed units',
      report('a', { failedUnits: ['app.service'], lastError: 'switch-to-configuration switch exited with 4: some units failed' }),
      {},
      { state: 'final', outcome: 'degraded', message: 'switch-to-configuration switch exited with 4: some units failed; failed units: app.service' },
    ],
    [
      'rolled back',
      report('a', { system: OLD, lastError: `rolled back to ${OLD}: switch-to-configuration switch exited with 1` }),
      {},
      { state: 'final', outcome: 'rolled-back', message: `rolled back to ${OLD}: switch-to-configuration switch exited with 1` },
    ],
    [
      'failed without a rollback',
      report('a', { system: OLD, lastError: 'switch-to-configuration switch exited with 1 (rollback is off)' }),
      {},
      { state: 'final', outcome: 'failed', message: 'switch-to-configuration switch exited with 1 (rollback is off)' },
    ],
    ['superseded by a newer deploy', report('a', { manifestSequence: 6 }), {}, { state: 'final', outcome: 'skipped', message: 'superseded: the host applied a newer manifest (6)' }],
    ['boot: the boot default', report('a', { system: OLD, needsReboot: true }), { action: 'boot' }, { state: 'final', outcome: 'succeeded', message: 'the new system is the boot default; it runs after the next reboot' }],
    ['reboot: waiting for the window', report('a', { system: OLD, needsReboot: true }), { action: 'reboot' }, { state: 'pending', reason: 'the new system is the boot default; waiting for the host to reboot into it' }],
    ['reboot: rebooted into it', report('a', { booted: NEW }), { action: 'reboot' }, { state: 'final', outcome: 'succeeded', message: 'runs the new system' }],
  ])('%s', (_name, input, extra, expected) => {
    expect(classifyReport(target('a', extra), input)).toEqual(expected);
  });
});

/** A clock that only moves when the code under test sleeps. */
function fakeTime(start = new Date('2025-03-01T10:01:00Z')) {
  let now = start.getTime();
  const sleeps: number[] = [];
  return {
    clock: { now: () => new Date(now) },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => (now += ms),
  };
}

describe('waitForConvergence', () => {
  const put = (store: MemoryStore, r: HostStatusReport) => store.put(statusReportKey(r.host), renderStatusReport(r), 'application/json');

  it('polls until every host has an outcome, then reports them in order', async () => {
    const store = new MemoryStore();
    const time = fakeTime();
    await put(store, report('a'));
    await put(store, report('b', { manifestSequence: 4, system: OLD, reportedAt: new Date('2025-03-01T09:00:00Z'), adoptedAt: new Date('2025-03-01T08:00:00Z') }));
    let polls = 0;
    const result = await waitForConvergence(store, [target('a'), target('b')], {
      timeoutMs: 30 * 60_000,
      pollIntervalMs: 60_000,
      clock: time.clock,
      sleep: async (ms) => {
        await time.sleep(ms);
        if (++polls === 3) await put(store, report('b', { reportedAt: new Date('2025-03-01T10:04:00Z') }));
      },
    });
    expect(time.sleeps).toEqual([60_000, 60_000, 60_000]);
    expect(result.ok).toBe(true);
    expect(result.stragglers).toEqual([]);
    expect(result.results.map((r) => [r.host, r.outcome, r.after, r.generation])).toEqual([
      ['a', 'succeeded', NEW, 8],
      ['b', 'succeeded', NEW, 8],
    ]);
    expect(result.results[1]?.durationMs).toBe(180_000);
  });

  it('lists stragglers at the deadline: unreachable when silent, failed with the reason when heard from', async () => {
    const store = new MemoryStore();
    const time = fakeTime();
    await put(store, report('heard', { manifestSequence: 4, system: OLD, lastError: 'could not fetch X from https://cache' }));
    await put(store, report('silent', { manifestSequence: 4, system: OLD, reportedAt: new Date('2025-03-01T09:00:00Z'), adoptedAt: new Date('2025-03-01T08:00:00Z') }));
    const seen: string[] = [];
    const result = await waitForConvergence(store, [target('heard'), target('silent'), target('never')], {
      timeoutMs: 30 * 60_000,
      clock: time.clock,
      sleep: time.sleep,
      onResult: (r) => seen.push(r.host),
    });
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBe(30 * 60_000);
    expect(time.sleeps.every((ms) => ms <= 15_000)).toBe(true);
    expect(result.stragglers).toEqual(['heard', 'silent', 'never']);
    expect(result.ok).toBe(false);
    expect(result.results.map((r) => [r.host, r.outcome])).toEqual([
      ['heard', 'failed'],
      ['silent', 'unreachable'],
      ['never', 'unreachable'],
    ]);
    expect(result.results[0]?.message).toBe(`not converged after 30m0s: reports manifest 4 and runs ${OLD}; its last run failed: could not fetch X from https://cache`);
    expect(result.results[2]?.message).toBe('not converged after 30m0s: no status report yet');
    expect(seen).toEqual(['heard', 'silent', 'never']);
  });

  it('stops early on a final failure and keeps a broken report from hiding the others', async () => {
    const store = new MemoryStore();
    const time = fakeTime();
    await put(store, report('a', { system: OLD, lastError: `rolled back to ${OLD}: health check web failed (exit 1)` }));
    await store.put(statusReportKey('b'), '{"format":1,"host":"b"', 'application/json');
    const result = await waitForConvergence(store, [target('a'), target('b')], { timeoutMs: 60_000, clock: time.clock, sleep: time.sleep });
    expect(result.results[0]).toMatchObject({ host: 'a', outcome: 'rolled-back', after: OLD });
    expect(result.results[1]?.outcome).toBe('unreachable');
    expect(result.results[1]?.message).toMatch(/its status report is unreadable: .* is not valid JSON/);
  });

  it('ends at once, with what it knows, when cancelled', async () => {
    const store = new MemoryStore();
    const controller = new AbortController();
    controller.abort();
    const result = await waitForConvergence(store, [target('a')], { timeoutMs: 60_000, signal: controller.signal });
    expect(result.results[0]).toMatchObject({ outcome: 'unreachable', message: 'the wait was cancelled: no status report yet' });
  });
});
