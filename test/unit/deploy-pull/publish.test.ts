import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { S3BinaryCacheStore } from '../../../src/cache/stores/s3.js';
import { narInfoKey, parseNarInfo } from '../../../src/cache/narinfo.js';
import { parsePointer, prepareManifestStore, publishManifest, readPreviousManifest, signManifest, validateManifest, verifySignedManifest, type PublishedManifest } from '../../../src/deploy/pull/index.js';
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

  it('asks for activation outside the window only when told to, in the signed bytes', async () => {
    const store = new MemoryStore();
    const urgent = await publishManifest({ host: 'a', environment: 'production', system: SYSTEM, activateNow: true }, { store, signingKey: key, clock });
    expect(urgent.manifest.activation).toBe('now');
    expect(urgent.content).toContain('"activation":"now"');
    const pointer = parsePointer(store.text('fleet/production/a.json') as string, 'pointer');
    expect(verifySignedManifest({ manifest: validateManifest(pointer.manifest), storePath: pointer.storePath, signatures: pointer.signatures }, [key.publicKey])).toEqual(urgent.manifest);
    const planned = await publishManifest({ host: 'a', environment: 'production', system: NEXT }, { store, signingKey: key, clock });
    expect(planned.content).not.toContain('activation');
    expect(() => validateManifest({ ...planned.manifest, activation: 'later' })).toThrow(/activation/);
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
      /shorter than the minimum 1m/,
    );
    await expect(publishManifest({ host: 'a', environment: 'production', system: SYSTEM, lifetimeMs: 999_999_999_999 * 86_400_000 }, { store, signingKey: key, clock })).rejects.toThrow(
      /manifest lifetime .* is longer than the maximum 90d \(example: 30d\)/,
    );
    expect(store.log).toEqual([]);
  });

  it('accepts the longest lifetime, whose expiry is a valid date', async () => {
    const published = await publishManifest({ host: 'a', environment: 'production', system: SYSTEM, lifetimeMs: 90 * 86_400_000 }, { store: new MemoryStore(), signingKey: key, clock });
    expect(published.manifest.expiresAt).toBe('2025-05-30T10:00:00Z');
  });
});

describe('reading the previous pointer from S3', () => {
  const key = testSigningKey('fleet-manifest-1');
  const s3Error = (name: string, status: number) => new S3ServiceException({ name, message: name, $fault: 'client', $metadata: { httpStatusCode: status } });

  async function publishWithPointerRead(failure: S3ServiceException) {
    const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(client);
    mock.on(GetObjectCommand).rejects(failure);
    mock.on(PutObjectCommand).resolves({});
    const store = new S3BinaryCacheStore({ bucket: 'fleet-cache', prefix: '', region: 'eu-west-1' }, { client });
    try {
      const outcome: { published?: PublishedManifest; error?: Error } = await publishManifest({ host: 'clinic-kin', environment: 'production', system: SYSTEM }, { store, signingKey: key, clock }).then(
        (published) => ({ published }),
        (error: Error) => ({ error }),
      );
      return { ...outcome, writes: mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key) };
    } finally {
      client.destroy();
    }
  }

  it('starts at sequence 1 only when the pointer is not found (404)', async () => {
    const { published, writes } = await publishWithPointerRead(s3Error('NoSuchKey', 404));
    expect(published?.manifest.sequence).toBe(1);
    expect(writes).toContain('fleet/production/clinic-kin.json');
  });

  it('fails on a 403, saying the role needs s3:GetObject on the pointer, and writes nothing', async () => {
    const { published, error, writes } = await publishWithPointerRead(s3Error('AccessDenied', 403));
    expect(published).toBeUndefined();
    expect(error?.message).toContain('cannot read the current manifest pointer s3://fleet-cache/fleet/production/clinic-kin.json (Could not read');
    expect(error?.message).toContain('AccessDenied');
    expect(error?.message).toContain('so the next sequence is unknown');
    expect(error?.message).toContain('read access to fleet/production/clinic-kin.json (on S3: s3:GetObject on it');
    expect(writes).toEqual([]);
  });

  it('fails on other errors too, rather than guessing', async () => {
    const { error, writes } = await publishWithPointerRead(s3Error('InvalidAccessKeyId', 403));
    expect(error?.message).toMatch(/cannot read the current manifest pointer .*InvalidAccessKeyId/);
    expect(writes).toEqual([]);
  });
});
