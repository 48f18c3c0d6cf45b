import type { HostStatusReport } from '../../../src/fleet/status.js';
import { blockedReason, evaluateGate, requiredPassing, type GateInput } from '../../../src/wave/gate.js';

const HOUR = 3_600_000;
const now = new Date('2025-03-10T12:00:00Z');
const path = (host: string, generation = 'new') => `/nix/store/${'a'.repeat(31)}${generation === 'new' ? 'n' : 'o'}-nixos-system-${host}`;

function report(host: string, overrides: Partial<HostStatusReport> = {}): HostStatusReport {
  return {
    host,
    system: path(host),
    booted: path(host),
    profileGeneration: 3,
    failedUnits: [],
    needsReboot: false,
    lastError: null,
    reportedAt: new Date(now.getTime() - 10 * 60_000),
    adoptedAt: new Date(now.getTime() - 30 * HOUR),
    manifestSequence: 4,
    agentVersion: '1.0.0',
    desired: null,
    ...overrides,
  };
}

function input(hosts: string[], reports: HostStatusReport[], overrides: Partial<GateInput> = {}): GateInput {
  return {
    name: 'middle',
    hosts: hosts.map((name) => ({ name, wave: 'middle' })),
    expected: new Map(hosts.map((h) => [h, path(h)])),
    reports: new Map(reports.map((r) => [r.host, r])),
    soakMs: 24 * HOUR,
    quorum: { percent: 100 },
    offlineAfterMs: 7 * 24 * HOUR,
    now,
    ...overrides,
  };
}

describe('wave gate', () => {
  it('passes when every host runs the expected system for the soak time', () => {
    const gate = evaluateGate(input(['a', 'b'], [report('a'), report('b')]));
    expect(gate).toMatchObject({ passed: true, state: 'passed', seen: 2, passing: 2, required: 2, stragglers: [], failures: [], reasons: [] });
    expect(gate.hosts.map((h) => h.state)).toEqual(['passing', 'passing']);
    expect(gate.hosts[0]).toMatchObject({ expected: path('a'), running: path('a'), soakedMs: 30 * HOUR, health: 'ok' });
  });

  it('waits for the soak, counted from each host its own adoption time, and says when it can pass', () => {
    const gate = evaluateGate(input(['a', 'b'], [report('a'), report('b', { adoptedAt: new Date(now.getTime() - 20 * HOUR) })]));
    expect(gate).toMatchObject({ passed: false, state: 'waiting', passing: 1, required: 2 });
    expect(gate.hosts[1]).toMatchObject({ state: 'soaking', soakEndsAt: new Date(now.getTime() + 4 * HOUR), detail: 'soaking, 4h0m to go' });
    expect(gate.readyAt).toEqual(new Date(now.getTime() + 4 * HOUR));
    expect(gate.reasons).toEqual(['1 of 2 hosts seen pass, 2 needed (quorum 100%)']);
  });

  it('fails closed: a host whose status could not be read blocks, even when the quorum is met without it', () => {
    const unreadable = new Map([['c', 'fleet/status/c.json: the response was cut off after 3 attempts']]);
    const gate = evaluateGate(input(['a', 'b', 'c'], [report('a'), report('b')], { quorum: { percent: 50 }, unreadable }));
    expect(gate).toMatchObject({ passed: false, state: 'failed', unreadable: ['c'], stragglers: [], failures: [] });
    expect(gate.hosts[2]).toMatchObject({ state: 'unreadable', detail: 'status unreadable: fleet/status/c.json: the response was cut off after 3 attempts' });
    expect(gate.reasons).toEqual(['c: status unreadable: fleet/status/c.json: the response was cut off after 3 attempts; it blocks until its status can be read']);
    expect(blockedReason(gate, 'reports')).toBe('cannot be judged: c (status unreadable: fleet/status/c.json: the response was cut off after 3 attempts)');
    // The same host never seen at all is a straggler, and the wave passes on its quorum.
    expect(evaluateGate(input(['a', 'b', 'c'], [report('a'), report('b')], { quorum: { percent: 50 } })).passed).toBe(true);
  });

  it('does not trust a report dated in the future', () => {
    const future = report('b', { reportedAt: new Date(now.getTime() + 2 * HOUR), adoptedAt: new Date(now.getTime() + HOUR) });
    const gate = evaluateGate(input(['a', 'b'], [report('a'), future], { quorum: { count: 1 } }));
    expect(gate).toMatchObject({ passed: false, state: 'failed', unreadable: ['b'] });
    expect(gate.hosts[1]?.detail).toBe('status not trusted: it is dated 2h0m in the future (2025-03-10T14:00:00.000Z)');
    // A clock a few minutes ahead is tolerated.
    const skewed = report('b', { reportedAt: new Date(now.getTime() + 60_000) });
    expect(evaluateGate(input(['a', 'b'], [report('a'), skewed])).passed).toBe(true);
  });

  it('counts soak from the manifest that asked for the system, never from an adoption before it', () => {
    // b claims 30 h on the new system, but the manifest asking for it was issued 2 h ago.
    const manifest = { system: path('b'), issuedAt: new Date(now.getTime() - 2 * HOUR) };
    const gate = evaluateGate(input(['a', 'b'], [report('a'), report('b')], { observations: new Map([['b', { manifest }]]) }));
    expect(gate).toMatchObject({ passed: false, state: 'waiting', passing: 1 });
    expect(gate.hosts[1]).toMatchObject({
      state: 'soaking',
      soakedMs: 2 * HOUR,
      soakStartedAt: manifest.issuedAt,
      soakEndsAt: new Date(now.getTime() + 22 * HOUR),
      soakNote: 'the manifest asking for it was issued 2025-03-10T10:00:00.000Z, after the reported adoption 2025-03-09T06:00:00.000Z',
    });
    // A manifest for another system, or one issued before the adoption, changes nothing.
    const other = { system: path('b', 'old'), issuedAt: new Date(now.getTime() - HOUR) };
    const older = { system: path('b'), issuedAt: new Date(now.getTime() - 40 * HOUR) };
    for (const m of [other, older]) {
      const unchanged = evaluateGate(input(['a', 'b'], [report('a'), report('b')], { observations: new Map([['b', { manifest: m }]]) }));
      expect(unchanged.passed).toBe(true);
      expect(unchanged.hosts[1]?.soakStartedAt).toBeUndefined();
    }
  });

  it('moves the adoption of a host whose clock is behind the store later by as much', () => {
    // The store received b's report 10 min ago, but b dated it 1 day earlier: its clock is a day behind,
    // so its 30 h on the new system are really 6 h.
    const receivedAt = new Date(now.getTime() - 10 * 60_000);
    const behind = report('b', { reportedAt: new Date(receivedAt.getTime() - 24 * HOUR) });
    const gate = evaluateGate(input(['a', 'b'], [report('a'), behind], { observations: new Map([['b', { receivedAt }]]), offlineAfterMs: 12 * HOUR }));
    expect(gate.hosts[1]).toMatchObject({ state: 'soaking', soakedMs: 6 * HOUR, soakNote: "the host's clock was 24h0m behind when its report was received" });
    // and it is seen when the store received it, not a day ago by its own clock (offline-after 12h)
    expect(gate.stragglers).toEqual([]);
    // Without the store's date the same report makes b a straggler: its own clock is all there is.
    expect(evaluateGate(input(['a', 'b'], [report('a'), behind], { offlineAfterMs: 12 * HOUR })).stragglers).toEqual(['b']);
    // A store date after the runner's clock proves nothing: the host's dates are all there is.
    const later = evaluateGate(input(['a', 'b'], [report('a'), behind], { observations: new Map([['b', { receivedAt: new Date(now.getTime() + 24 * HOUR) }]]), offlineAfterMs: 12 * HOUR }));
    expect(later.stragglers).toEqual(['b']);
    // A host clock a minute off is not corrected.
    const close = evaluateGate(input(['a'], [report('a')], { observations: new Map([['a', { receivedAt: new Date(now.getTime() - 9 * 60_000) }]]) }));
    expect(close.hosts[0]).toMatchObject({ state: 'passing', soakedMs: 30 * HOUR });
    expect(close.hosts[0]?.soakNote).toBeUndefined();
  });

  it('does not trust a report dated well after the store received it', () => {
    const receivedAt = new Date(now.getTime() - 3 * HOUR);
    const gate = evaluateGate(input(['a', 'b'], [report('a'), report('b')], { observations: new Map([['b', { receivedAt }]]), quorum: { count: 1 } }));
    expect(gate).toMatchObject({ passed: false, state: 'failed', unreadable: ['b'] });
    expect(gate.hosts[1]?.detail).toBe(
      "status not trusted: it is dated 2025-03-10T11:50:00.000Z, 2h50m after it was received (2025-03-10T09:00:00.000Z); check the host's clock",
    );
  });

  it('does not count a host running another system', () => {
    const gate = evaluateGate(input(['a', 'b'], [report('a'), report('b', { system: path('b', 'old'), desired: path('b') })]));
    expect(gate.passed).toBe(false);
    expect(gate.hosts[1]).toMatchObject({ state: 'behind', detail: 'fetched the new system, not switched yet', running: path('b', 'old') });
    expect(gate.readyAt).toBeUndefined();
  });

  it('says why a host that fetched its system waits, as planned, and what a fetching host still fetches', () => {
    const waiting = 'fetched /nix/store/x; waits for the activation window 22:00-05:00';
    const download = { system: path('b'), paths: 2, bytes: 3 * 1024 * 1024, totalPaths: 9, totalBytes: 10 * 1024 * 1024, measuredAt: new Date('2025-03-10T11:00:00Z') };
    const gate = evaluateGate(input(['a', 'b'], [report('a', { system: path('a', 'old'), waiting }), report('b', { system: path('b', 'old'), download })]));
    expect(gate.hosts[0]).toMatchObject({ state: 'behind', detail: `waiting: ${waiting}` });
    expect(gate.hosts[1]).toMatchObject({ state: 'behind', download, detail: 'fetching the new system: 3.0 MiB of 10.0 MiB (2 of 9 paths) left at 2025-03-10T11:00:00Z' });
    const measured = evaluateGate(input(['b'], [report('b', { system: path('b', 'old'), download, fetchBytesPerSecond: 1024 })]));
    expect(measured.hosts[0]).toMatchObject({ fetchBytesPerSecond: 1024, detail: 'fetching the new system: 3.0 MiB of 10.0 MiB (2 of 9 paths) left at 2025-03-10T11:00:00Z; at most 51m12s at 1.0 KiB/s' });
    // Once it runs the expected system, neither matters.
    expect(evaluateGate(input(['a'], [report('a', { waiting })])).hosts[0]?.state).toBe('passing');
  });

  it('is blocked by any seen host reporting a failure, even within quorum', () => {
    const gate = evaluateGate(
      input(['a', 'b', 'c'], [report('a'), report('b'), report('c', { failedUnits: ['nginx.service'], lastError: 'health check failed' })], { quorum: { percent: 50 } }),
    );
    expect(gate).toMatchObject({ passed: false, state: 'failed', failures: ['c'] });
    expect(gate.reasons).toEqual(['c reports a failure: failed units: nginx.service; last error: health check failed']);
    expect(gate.hosts[2]).toMatchObject({ state: 'failed', health: 'failed' });
  });

  it('lists offline hosts as stragglers without blocking and without counting them', () => {
    const offline = report('d', { reportedAt: new Date(now.getTime() - 8 * 24 * HOUR), failedUnits: ['old.service'] });
    const gate = evaluateGate(input(['a', 'b', 'c', 'd', 'e'], [report('a'), report('b'), report('c'), offline], { quorum: { percent: 80 } }));
    expect(gate).toMatchObject({ passed: true, seen: 3, passing: 3, required: 3, stragglers: ['d', 'e'], failures: [] });
    expect(gate.hosts[3]).toMatchObject({ state: 'straggler', detail: 'last seen 8d0h ago' });
    expect(gate.hosts[4]).toMatchObject({ state: 'straggler', detail: 'has never reported' });
  });

  it('rounds a percentage quorum up over the hosts seen', () => {
    const reports = [report('a'), report('b'), report('c', { system: path('c', 'old') })];
    const gate = evaluateGate(input(['a', 'b', 'c'], reports, { quorum: { percent: 60 } }));
    expect(gate).toMatchObject({ required: 2, passing: 2, passed: true });
    expect(evaluateGate(input(['a', 'b', 'c'], reports, { quorum: { percent: 67 } }))).toMatchObject({ required: 3, passed: false });
    expect(requiredPassing({ percent: 80 }, 5, 5)).toBe(4);
    expect(requiredPassing({ percent: 1 }, 3, 3)).toBe(1);
    expect(requiredPassing({ count: 3 }, 4, 10)).toBe(3);
    expect(requiredPassing({ count: 5 }, 2, 2)).toBe(2);
  });

  it('lets hosts whose system did not change pass at once', () => {
    const fresh = report('a', { adoptedAt: new Date(now.getTime() - 60_000) });
    const gate = evaluateGate(input(['a'], [fresh], { baseline: new Map([['a', path('a')]]) }));
    expect(gate).toMatchObject({ passed: true });
    expect(gate.hosts[0]).toMatchObject({ state: 'unchanged', detail: 'its system did not change' });
    // Without the baseline the same host still soaks.
    expect(evaluateGate(input(['a'], [fresh])).hosts[0]?.state).toBe('soaking');
  });

  it('cannot pass hosts without an expected system, nor groups nobody has seen', () => {
    const unknown = evaluateGate(input(['a'], [report('a')], { expected: new Map() }));
    expect(unknown).toMatchObject({ passed: false, state: 'waiting' });
    expect(unknown.hosts[0]).toMatchObject({ state: 'unknown', detail: 'no expected system is known for this host' });
    expect(evaluateGate(input(['a'], []))).toMatchObject({ passed: false, state: 'waiting', reasons: ['no host of middle reported within 7d0h'] });
    expect(evaluateGate(input([], []))).toMatchObject({ passed: false, state: 'empty', reasons: ['middle has no hosts'] });
  });
});
