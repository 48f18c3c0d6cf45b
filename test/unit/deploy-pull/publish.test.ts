import { describe, expect, it } from '@jest/globals';
import { narInfoKey, parseNarInfo } from '../../../src/cache/narinfo.js';
import { parsePointer, prepareManifestStore, publishManifest, readPreviousManifest, signManifest, validateManifest, verifySignedManifest } from '../../../src/deploy/pull/index.js';
import { memoryLog } from '../../../src/util/log.js';
import { MemoryStore } from '../../support/memory-store.js';
import { testSigningKey } from './keys.js';

const SYSTEM = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-clinic-kin-24.11';
const NEXT = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-clinic-kin-24.11';
const clock = { now: () => new Date('2025-03-01T10:00:00.250Z') };

describe('publishManifest', () => {
  const key = testSigningKey('fleet-manifest-1');

  it('writes the NAR, then the narinfo, then the pointer, and starts at sequence 1', async () => {
    const store = new MemoryStore();
    await prepareManifestStore(store);
    const published = await publishManifest({ host: 'clinic-kin', environment: 'production', system: SYSTEM, wave: 'middle', commit: 'abcdef1' }, { store, signingKey: key, clock });
    expect(published.manifest).toEqual({
      format: 1,
      host: 'clinic-kin',
      environment: 'production',
      system: SYSTEM,
      action: 'switch',
      rollback: 'auto',
      commit: 'abcdef1',
      wave: 'middle',
      sequence: 1,
      issuedAt: '2025-03-01T10:00:00Z',
      expiresAt: '2025-03-31T10:00:00Z',
    });
    expect(published.previous).toBeUndefined();
    const narKey = `nar/${published.narHash.slice('sha256:'.length)}.nar`;
    expect(store.log).toEqual(['put nix-cache-info', `put ${narKey}`, `put ${narInfoKey(published.storePath)}`, 'put fleet/production/clinic-kin.json']);
    expect(store.objects.get(narKey)?.body).toEqual(published.nar);

    const narinfo = parseNarInfo(store.text(narInfoKey(published.storePath)) as string);
    expect(narinfo).toMatchObject({ storePath: published.storePath, url: narKey, compression: 'none', narHash: published.narHash, narSize: published.narSize, references: [], sigs: published.signatures });
    expect(narinfo.ca).toBeUndefined();
    const pointer = parsePointer(store.text('fleet/production/clinic-kin.json') as string, 'pointer');
    expect(verifySignedManifest({ manifest: validateManifest(pointer.manifest), storePath: pointer.storePath, signatures: pointer.signatures }, [key.publicKey])).toEqual(published.manifest);
  });

  it('increments the sequence it reads from the store, per host', async () => {
    const store = new MemoryStore();
    const first = await publishManifest({ host: 'a', environment: 'production', system: SYSTEM }, { store, signingKey: key, clock });
    const second = await publishManifest({ host: 'a', environment: 'production', system: NEXT }, { store, signingKey: key, clock });
    const other = await publishManifest({ host: 'b', environment: 'production', system: NEXT }, { store, signingKey: key, clock });
    expect([first.manifest.sequence, second.manifest.sequence, other.manifest.sequence]).toEqual([1, 2, 1]);
    expect(second.previous).toEqual({ sequence: 1, storePath: first.storePath, system: SYSTEM, verified: true });
  });

  it('never lowers the sequence when the current pointer is not signed by our key (a key rotation)', async () => {
    const store = new MemoryStore();
    const old = testSigningKey('fleet-manifest-0');
    await publishManifest({ host: 'a', environment: 'production', system: SYSTEM }, { store, signingKey: old, clock });
    await publishManifest({ host: 'a', environment: 'production', system: SYSTEM }, { store, signingKey: old, clock });
    const log = memoryLog();
    const rotated = await publishManifest({ host: 'a', environment: 'production', system: NEXT }, { store, signingKey: key, clock, log });
    expect(rotated.manifest.sequence).toBe(3);
    expect(rotated.previous?.verified).toBe(false);
    expect(log.lines.join('\n')).toMatch(/not signed by fleet-manifest-1; continuing from its sequence/);
    // With the old public key declared, it verifies.
    const again = await readPreviousManifest(store, 'production', 'a', [key.publicKey]);
    expect(again?.verified).toBe(true);
  });

  it('refuses to guess when the current pointer is unreadable', async () => {
    const store = new MemoryStore();
    await store.put('fleet/production/a.json', 'not json', 'application/json');
    await expect(publishManifest({ host: 'a', environment: 'production', system: SYSTEM }, { store, signingKey: key, clock })).rejects.toThrow(
      /memory:\/\/test\/fleet\/production\/a.json is not valid JSON/,
    );
    const signed = signManifest({ ...(await publishManifest({ host: 'b', environment: 'production', system: SYSTEM }, { store, signingKey: key, clock })).manifest }, [key]);
    await store.put('fleet/production/a.json', JSON.stringify({ format: 1, storePath: signed.storePath, narHash: signed.narHash, narSize: 1, signatures: [], manifest: { sequence: 'x' } }), 'application/json');
    await expect(publishManifest({ host: 'a', environment: 'production', system: SYSTEM }, { store, signingKey: key, clock })).rejects.toThrow(/has no valid manifest sequence/);
  });

  it('fails with the host and store named when a write fails, leaving the old pointer in place', async () => {
    const store = new MemoryStore({
      before: (op, k) => {
        if (op === 'put' && k.endsWith('.narinfo')) throw new Error('HTTP 503');
      },
    });
    await expect(publishManifest({ host: 'a', environment: 'production', system: SYSTEM }, { store, signingKey: key, clock })).rejects.toThrow(
      /could not publish the manifest of a to memory:\/\/test: HTTP 503/,
    );
    expect(store.objects.has('fleet/production/a.json')).toBe(false);
  });

  it('validates the request before writing anything', async () => {
    const store = new MemoryStore();
    await expect(publishManifest({ host: 'a', environment: 'production', system: '/tmp/not-a-store-path' }, { store, signingKey: key, clock })).rejects.toThrow(
      /system: must be a store path/,
    );
    await expect(publishManifest({ host: 'a', environment: 'production', system: SYSTEM, lifetimeMs: 1000 }, { store, signingKey: key, clock })).rejects.toThrow(
      /shorter than a minute/,
    );
    expect(store.log).toEqual([]);
  });
});
