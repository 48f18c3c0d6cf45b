import { parseStatusReport, readStatusReports, renderStatusReport, reportsFailure, statusReportKey, type HostStatusReport, type StatusStore } from '../../../src/fleet/status.js';

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web1-24.11';
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-web1-24.11';

const document = {
  format: 1,
  host: 'web1',
  system: A,
  booted: B,
  profileGeneration: 42,
  failedUnits: [],
  needsReboot: true,
  lastError: null,
  reportedAt: '2025-03-01T10:00:00Z',
  adoptedAt: '2025-02-28T09:12:44+01:00',
  manifestSequence: 17,
  agentVersion: '1.0.0',
};

/** Objects written at `modifiedAt`, as a store would date them. */
function memoryStore(objects: Record<string, string>, modifiedAt = new Date('2025-03-01T10:00:05Z')): StatusStore {
  const get = async (key: string) => (key in objects ? Buffer.from(objects[key] as string) : undefined);
  return {
    url: 'memory://',
    get,
    getWithDate: async (key) => {
      const body = await get(key);
      return body && { body, modifiedAt };
    },
    list: async (prefix) => Object.keys(objects).filter((k) => k.startsWith(prefix)),
  };
}

describe('host status reports', () => {
  it('parses the agent format with times as dates', () => {
    const report = parseStatusReport(JSON.stringify(document));
    expect(report).toEqual({
      host: 'web1',
      system: A,
      booted: B,
      profileGeneration: 42,
      failedUnits: [],
      needsReboot: true,
      lastError: null,
      reportedAt: new Date('2025-03-01T10:00:00Z'),
      adoptedAt: new Date('2025-02-28T08:12:44Z'),
      manifestSequence: 17,
      agentVersion: '1.0.0',
      desired: null,
    });
    expect(reportsFailure(report)).toBe(false);
  });

  it('round-trips through the rendered document', () => {
    const report = parseStatusReport(document);
    const again = parseStatusReport(renderStatusReport(report));
    expect(again).toEqual(report);
    expect(JSON.parse(renderStatusReport(report))).toMatchObject({ format: 1, adoptedAt: '2025-02-28T08:12:44Z' });
  });

  it('reads the download still pending, and refuses one that claims more left than the whole', () => {
    const download = { system: B, paths: 3, bytes: 4096, totalPaths: 10, totalBytes: 10_000, measuredAt: '2025-03-01T09:59:00Z' };
    const report = parseStatusReport({ ...document, download });
    expect(report.download).toEqual({ ...download, measuredAt: new Date('2025-03-01T09:59:00Z') });
    expect(parseStatusReport(renderStatusReport(report))).toEqual(report);
    expect(parseStatusReport({ ...document, download: null }).download).toBeUndefined();
    expect(() => parseStatusReport({ ...document, download: { ...download, paths: 11 } })).toThrow(/download: paths and bytes must not exceed/);
    expect(() => parseStatusReport({ ...document, download: { ...download, bytes: -1 } })).toThrow(/download\.bytes/);
  });

  it('keeps working when a newer agent adds fields', () => {
    expect(parseStatusReport({ ...document, bootId: 'abc' }).host).toBe('web1');
  });

  it('treats failed units and a last error as failures', () => {
    expect(reportsFailure(parseStatusReport({ ...document, failedUnits: ['nginx.service'] }))).toBe(true);
    expect(reportsFailure(parseStatusReport({ ...document, lastError: 'switch failed; rolled back' }))).toBe(true);
  });

  it('says what is wrong with an invalid report', () => {
    expect(() => parseStatusReport('{', 'fleet/status/web1.json')).toThrow(/fleet\/status\/web1.json is not valid JSON/);
    expect(() => parseStatusReport({ ...document, format: 2 })).toThrow(/format: must be 1/);
    expect(() => parseStatusReport({ ...document, system: '/tmp/x' })).toThrow(/system: must be a store path/);
    expect(() => parseStatusReport({ ...document, reportedAt: 'yesterday' })).toThrow(/reportedAt: must be an ISO 8601 time/);
    expect(() => parseStatusReport({ ...document, failedUnits: undefined })).toThrow(/failedUnits/);
    expect(() => parseStatusReport({ ...document, adoptedAt: '2025-03-02T00:00:00Z' })).toThrow(/adoptedAt .* is after reportedAt/);
  });

  it('reads every report of a store and lists the unusable ones', async () => {
    const store = memoryStore({
      [statusReportKey('web1')]: JSON.stringify(document),
      [statusReportKey('web2')]: JSON.stringify({ ...document, host: 'web2', system: B }),
      [statusReportKey('db1')]: 'not json',
      [statusReportKey('impostor')]: JSON.stringify(document),
      'fleet/status/nested/x.json': JSON.stringify(document),
      'fleet/production/web1.json': '{}',
    });
    const { reports, receivedAt, problems } = await readStatusReports(store);
    expect([...reports.keys()].sort()).toEqual(['web1', 'web2']);
    // the store's own date of each usable report, for the gate to check the host's clock against
    expect(receivedAt).toEqual(new Map([['web1', new Date('2025-03-01T10:00:05Z')], ['web2', new Date('2025-03-01T10:00:05Z')]]));
    expect((reports.get('web2') as HostStatusReport).system).toBe(B);
    expect(problems).toEqual([
      { key: 'fleet/status/db1.json', host: 'db1', message: expect.stringContaining('not valid JSON') },
      { key: 'fleet/status/impostor.json', host: 'impostor', message: 'names host "web1" but is stored as "impostor"' },
    ]);
  });

  it('passes store errors on', async () => {
    const store: StatusStore = { url: 'x', get: async () => undefined, getWithDate: async () => undefined, list: async () => Promise.reject(new Error('403 Forbidden')) };
    await expect(readStatusReports(store)).rejects.toThrow('403 Forbidden');
  });
});
