import { describe, expect, it } from '@jest/globals';
import type { Host } from '../../../src/fleet/types.js';
import { renderStatusReport, statusReportKey } from '../../../src/fleet/status.js';
import { PullTransport, parsePointer } from '../../../src/deploy/pull/index.js';
import { memoryLog } from '../../../src/util/log.js';
import { MemoryStore } from '../../support/memory-store.js';
import { testSigningKey } from './keys.js';

const OLD = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-clinic-kin-24.11';
const NEW = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-clinic-kin-24.11';
const host: Host = { name: 'clinic-kin', attribute: 'clinic-kin', system: 'x86_64-linux', environment: 'production', wave: 'middle', tags: [], deploy: { method: 'pull' } };
const settings = { action: 'switch' as const, rollback: 'auto' as const, healthChecks: [] };

describe('PullTransport', () => {
  const key = testSigningKey('fleet-manifest-1');

  it('publishes and returns at once without wait', async () => {
    const store = new MemoryStore();
    const log = memoryLog();
    const transport = await PullTransport.open({ store, signingKey: key, settings, log, commit: 'abcdef0123' });
    const result = await transport.deployHost({ host, system: NEW });
    expect(result).toMatchObject({ host: 'clinic-kin', outcome: 'succeeded', target: NEW, message: 'manifest 1 published; the host applies it on its next run (not waited for)' });
    expect(store.objects.has('nix-cache-info')).toBe(true);
    const pointer = parsePointer(store.text('fleet/production/clinic-kin.json') as string, 'pointer');
    expect(pointer.manifest).toMatchObject({ host: 'clinic-kin', environment: 'production', wave: 'middle', commit: 'abcdef0123', system: NEW, sequence: 1 });
    expect(transport.publishedManifests().get('clinic-kin')?.manifest.sequence).toBe(1);
  });

  it('waits for the host to report the new system, with the before state from its previous report', async () => {
    const store = new MemoryStore();
    const base = { host: 'clinic-kin', booted: OLD, profileGeneration: 3, failedUnits: [], needsReboot: false, lastError: null, agentVersion: '1.0.0' };
    await store.put(
      statusReportKey('clinic-kin'),
      renderStatusReport({ ...base, system: OLD, reportedAt: new Date('2025-03-01T09:00:00Z'), adoptedAt: new Date('2025-02-01T09:00:00Z'), manifestSequence: null, desired: null }),
      'application/json',
    );
    let now = new Date('2025-03-01T10:00:00Z').getTime();
    const clock = { now: () => new Date(now) };
    const sleep = async (ms: number) => {
      now += ms;
      // The agent's next run, a minute later.
      await store.put(
        statusReportKey('clinic-kin'),
        renderStatusReport({ ...base, system: NEW, profileGeneration: 4, reportedAt: new Date(now), adoptedAt: new Date(now - 1000), manifestSequence: 1, desired: NEW }),
        'application/json',
      );
    };
    const transport = await PullTransport.open({ store, signingKey: key, settings, log: memoryLog(), waitMs: 30 * 60_000, pollIntervalMs: 60_000, clock, sleep });
    const result = await transport.deployHost({ host, system: NEW });
    expect(result).toMatchObject({ outcome: 'succeeded', before: OLD, after: NEW, generation: 4, durationMs: 60_000, message: 'manifest 1: runs the new system' });
  });

  it('reports a publish failure as the host failing', async () => {
    const store = new MemoryStore({
      before: (op, k) => {
        if (op === 'put' && k.startsWith('fleet/')) throw new Error('AccessDenied');
      },
    });
    const transport = await PullTransport.open({ store, signingKey: key, settings, log: memoryLog() });
    const result = await transport.deployHost({ host, system: NEW });
    expect(result.outcome).toBe('failed');
    expect(result.message).toMatch(/could not publish the manifest of clinic-kin to memory:\/\/test: AccessDenied/);
  });

  it('refuses actions a pull host cannot do, and bad keys, naming the input', async () => {
    const store = new MemoryStore();
    await expect(PullTransport.open({ store, signingKey: key, settings: { ...settings, action: 'test' }, log: memoryLog() })).rejects.toThrow(/action: pull hosts apply switch, boot or reboot; "test"/);
    await expect(PullTransport.open({ store, signingKey: key.publicKey.text, settings, log: memoryLog() })).rejects.toThrow(/manifest-signing-key: .*holds 32 bytes.*is this the public key/);
    expect(store.log).toEqual([]);
  });

  it('warns that health-checks do not reach pull hosts', async () => {
    const log = memoryLog();
    await PullTransport.open({ store: new MemoryStore(), signingKey: key, settings: { ...settings, healthChecks: [{ command: 'true', timeoutMs: 1000 }] }, log });
    expect(log.lines.join('\n')).toMatch(/pull hosts run the checks their agent is configured with/);
  });
});
