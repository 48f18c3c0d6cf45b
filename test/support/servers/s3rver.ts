import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface S3rverHandle {
  /** The S3 API endpoint, for the SDK (path-style): `http://127.0.0.1:PORT`. */
  endpoint: string;
  bucket: string;
  region: string;
  /** The bucket over plain HTTP, the way Nix reads it as a binary cache: `http://127.0.0.1:PORT/BUCKET`. */
  url: string;
  /** The cache URL our stores take: `s3://BUCKET?endpoint=…&region=…`. */
  cacheUrl: string;
  /** s3rver's fixed account; pass as `credentials` (it checks signatures). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Where s3rver keeps its files. */
  directory: string;
  /** Multipart uploads started and neither completed nor aborted. */
  pendingMultipartUploads(): Promise<string[]>;
  /** How many AbortMultipartUpload requests were served. */
  readonly abortedUploads: number;
  stop(): Promise<void>;
}

/**
 * s3rver on a free loopback port with a fresh directory and one bucket. Anonymous GET and HEAD
 * are allowed (s3rver checks signatures only when a request carries one), so Nix substitutes from
 * `url` like from a public-read bucket. s3rver lacks AbortMultipartUpload; this harness serves it
 * (dropping the upload's parts) so that aborts can be tested as on S3.
 */
export async function startS3rver(options: { bucket?: string } = {}): Promise<S3rverHandle> {
  const bucket = options.bucket ?? 'nix-cache';
  const directory = await mkdtemp(join(tmpdir(), 'fleet-s3rver-'));
  const s3rver = new S3rver({ directory, silent: true, configureBuckets: [{ name: bucket }] });
  await s3rver.configureBuckets();
  const uploadsDir = s3rver.store.getResourcePath(bucket, undefined, 'uploads');
  const handle = s3rver.callback();
  let aborted = 0;

  const abortUpload = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const uploadId = new URL(req.url ?? '/', 'http://x').searchParams.get('uploadId') ?? '';
    const dir = join(uploadsDir, uploadId);
    const known = /^[0-9a-f]+$/.test(uploadId) && (await listUploads(uploadsDir)).includes(uploadId);
    req.resume();
    if (!known) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>');
      return;
    }
    await rm(dir, { recursive: true, force: true });
    aborted++;
    res.writeHead(204);
    res.end();
  };

  const server = createServer((req, res) => {
    const isAbort = req.method === 'DELETE' && /[?&]uploadId=/.test(req.url ?? '');
    if (isAbort) {
      abortUpload(req, res).catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    } else {
      handle(req, res);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';

  return {
    endpoint,
    bucket,
    region,
    url: `${endpoint}/${bucket}`,
    cacheUrl: `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&region=${region}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    pendingMultipartUploads: async () => (await listUploads(uploadsDir)).sort(),
    get abortedUploads() {
      return aborted;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3rver.logger?.exceptions?.unhandle?.();
      s3rver.logger?.close?.();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function listUploads(uploadsDir: string): Promise<string[]> {
  return readdir(uploadsDir).catch(() => [] as string[]);
}
