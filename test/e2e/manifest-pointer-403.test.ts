import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';

describe('the previous manifest pointer of a pull host', () => {
  let server: Server;
  let work: string;
  const puts: string[] = [];
  const objects = new Map<string, Buffer>();
  const system = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-clinic-kin-24.11';

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-pointer-403-'));
    await writeFile(join(work, 'fleet.yaml'), stringify({ environments: { production: { 'allowed-refs': ['refs/heads/main'] } }, hosts: { 'clinic-kin': { environment: 'production', deploy: { method: 'pull' } } } }));
    // A cache whose credentials may write but not read the pointers, as an S3 role without s3:GetObject on fleet/*.
    server = createServer((req, res) => {
      const key = decodeURIComponent((req.url ?? '/').slice(1));
      const body: Buffer[] = [];
      req.on('data', (chunk: Buffer) => body.push(chunk));
      req.on('end', () => {
        if (req.method === 'PUT') {
          puts.push(key);
          objects.set(key, Buffer.concat(body));
          res.writeHead(201).end();
        } else if (key.startsWith('fleet/')) {
          res.writeHead(403).end('Forbidden');
        } else if (objects.has(key)) {
          res.writeHead(200).end(req.method === 'HEAD' ? undefined : objects.get(key));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('is not "missing" on a 403: the host fails with what the role needs, and no manifest is published', async () => {
    const store = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runAction('action-deploy', {
      inputs: { inventory: join(work, 'fleet.yaml'), environment: 'production', hosts: 'clinic-kin', 'store-paths': JSON.stringify({ 'clinic-kin': system }), deployment: 'false', 'manifest-store': store, 'manifest-signing-key': nixKeyPair('fleet-manifest-1').secret },
      cwd: work,
    });
    expect(result.exitCode).toBe(1);
    const results = JSON.parse(result.outputs.results as string) as Record<string, { outcome: string; message: string }>;
    expect(results['clinic-kin']?.outcome).toBe('failed');
    expect(results['clinic-kin']?.message).toContain(`cannot read the current manifest pointer ${store}/fleet/production/clinic-kin.json (GET ${store}/fleet/production/clinic-kin.json failed: HTTP 403`);
    expect(results['clinic-kin']?.message).toContain('need read access to fleet/production/clinic-kin.json (on S3: s3:GetObject on it');
    expect(puts.filter((key) => key.startsWith('fleet/') || key.endsWith('.narinfo'))).toEqual([]);
  });
});
