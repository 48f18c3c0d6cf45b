import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sleep } from '../../../src/util/async.js';

export interface FaultProxyOptions {
  /** Share of eligible requests that get a fault, 0..1 (default 0: a plain proxy). */
  failRate?: number;
  /** Status of injected error responses (default 503). */
  status?: number;
  /** Injected errors are S3's `SlowDown` (503 with the XML error body) instead of a bare status. */
  s3SlowDown?: boolean;
  /** Injected errors carry an S3 XML error body with this code (e.g. `AccessDenied` with status 403). */
  s3ErrorCode?: string;
  /**
   * Injected faults cut the connection instead of answering: an upload is forwarded up to this
   * many body bytes and then dropped (the server sees a truncated body), a download after this
   * many response bytes. A body shorter than this is cut just before its end.
   */
  cutAfterBytes?: number;
  /** Added to every request before it is forwarded (benchmarks: 20 ms). */
  latencyMs?: number;
  /** Response bodies reach clients at most this fast, each response on its own (a slow link). */
  downloadBytesPerSecond?: number;
  /** All response bodies together reach clients at most this fast: one link that every connection shares. */
  linkBytesPerSecond?: number;
  /** Changes which requests get faults; the same seed faults the same requests. */
  seed?: number;
  /**
   * Runs when a cut is due, before the connection drops: a test can look at the server's state
   * mid-upload (e.g. its spooled partial body). The cut waits for it.
   */
  beforeCut?: () => Promise<void> | void;
  /**
   * Runs for each request before anything else; `'drop'` closes the connection without forwarding
   * it (a test can kill a client at an exact request, as a power loss would).
   */
  onRequest?: (method: string, path: string, from: { headers: IncomingHttpHeaders; remoteAddress: string | undefined }) => Promise<RequestVerdict> | RequestVerdict;
  /** Only these methods may get faults (default all). */
  methods?: readonly string[];
  /** Only paths matching this may get faults (default all). */
  path?: RegExp;
}

export type FaultKind = 'status' | 'slowDown' | 'cut';
/** `refuse`: a 403 that names the reason (a server that takes requests only through a proxy). */
export type RequestVerdict = 'forward' | 'drop' | 'refuse';

export interface FaultProxyStats {
  /** TCP connections clients opened (keep-alive reuse shows as connections < requests). */
  connections: number;
  requests: number;
  /** Requests held back by `latencyMs`. */
  delayed: number;
  forwarded: number;
  injected: Record<FaultKind, number>;
  /** Request body bytes received from clients and passed on (or cut). */
  requestBodyBytes: number;
  /** Response body bytes passed back to clients. */
  responseBodyBytes: number;
  log: { method: string; path: string; headers: IncomingHttpHeaders; fault?: FaultKind; refused?: true }[];
}

export interface FaultProxy {
  /** The proxy's address with the target's path: use it wherever the target's URL went. */
  url: string;
  /** `http://127.0.0.1:PORT` (or the address it listens on) without the target's path. */
  endpoint: string;
  port: number;
  stats: FaultProxyStats;
  /** Changes the faults from now on (e.g. turn them off to check what was stored). */
  configure(options: FaultProxyOptions): void;
  /** Drops every client connection open now, mid-body or idle, as a link that goes down does; returns how many. */
  cutConnections(): number;
  stop(): Promise<void>;
}

const s3ErrorXml = (code: string, message: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

/**
 * An HTTP proxy in front of a cache (nginx, s3rver) that injects faults on a deterministic share
 * of requests. Whether a request is faulted depends only on the seed, its method and path and how
 * many times that method and path came before, never on arrival order, so concurrent clients
 * get the same faults on every run. Host headers pass through unchanged (S3 signatures stay valid).
 */
export async function startFaultProxy(target: string, initial: FaultProxyOptions = {}, { listenOn = '127.0.0.1' }: { listenOn?: string } = {}): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  let options: FaultProxyOptions = { ...initial };
  const seen = new Map<string, number>();
  const stats: FaultProxyStats = {
    connections: 0,
    requests: 0,
    delayed: 0,
    forwarded: 0,
    injected: { status: 0, slowDown: 0, cut: 0 },
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    log: [],
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const clients = new Set<Socket>();
  /** When the shared link is free again (linkBytesPerSecond): each piece books the link after the one before. */
  let linkFreeAt = 0;
  const linkTurn = (bytes: number): Promise<void> => {
    const rate = options.linkBytesPerSecond;
    if (!rate) return Promise.resolve();
    const now = performance.now();
    linkFreeAt = Math.max(now, linkFreeAt) + (bytes / rate) * 1000;
    return sleep(linkFreeAt - now);
  };

  const chooseFault = (req: IncomingMessage): FaultKind | undefined => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    // S3 names each multipart upload with a random uploadId; leaving it out keeps the promise
    // that a seed faults the same requests in every run.
    const id = `${method} ${path.replace(/([?&])uploadId=[^&]*/, '$1uploadId')}`;
    const occurrence = seen.get(id) ?? 0;
    seen.set(id, occurrence + 1);
    const rate = options.failRate ?? 0;
    if (rate <= 0) return undefined;
    if (options.methods && !options.methods.includes(method)) return undefined;
    if (options.path && !options.path.test(path)) return undefined;
    if (draw(`${options.seed ?? 0}|${id}|${occurrence}`) >= rate) return undefined;
    return options.cutAfterBytes !== undefined ? 'cut' : options.s3SlowDown ? 'slowDown' : 'status';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    const verdict = await options.onRequest?.(req.method ?? 'GET', req.url ?? '/', { headers: req.headers, remoteAddress: req.socket.remoteAddress });
    if (verdict === 'drop') {
      req.socket.destroy();
      return;
    }
    if (verdict === 'refuse') {
      stats.log.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, refused: true });
      req.resume();
      res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' }).end('refused: this server takes requests only through the proxy\n');
      return;
    }
    const fault = chooseFault(req);
    stats.log.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, ...(fault ? { fault } : {}) });
    if (options.latencyMs) {
      stats.delayed++;
      await sleep(options.latencyMs);
    }
    if (fault === 'status' || fault === 'slowDown') {
      stats.injected[fault]++;
      await drain(req, stats);
      const xml = fault === 'slowDown' ? s3ErrorXml('SlowDown', 'Please reduce your request rate.') : options.s3ErrorCode ? s3ErrorXml(options.s3ErrorCode, 'Injected by fault-proxy.') : undefined;
      const body = xml ?? `fault-proxy: injected ${options.status ?? 503}\n`;
      res.writeHead(fault === 'slowDown' ? 503 : options.status ?? 503, {
        'content-type': xml ? 'application/xml' : 'text/plain',
        'content-length': req.method === 'HEAD' ? 0 : Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (fault === 'cut') stats.injected.cut++;
    forward(req, res, fault === 'cut' ? options.cutAfterBytes ?? 0 : undefined);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, cutAfter: number | undefined): void => {
    stats.forwarded++;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    }
    const upstream = http.request({
      host: targetUrl.hostname,
      port: targetUrl.port || 80,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    let cutting = false;
    const cut = (): void => {
      if (cutting) return;
      cutting = true;
      const drop = (): void => {
        upstream.destroy();
        req.socket.destroy();
      };
      const hook = options.beforeCut;
      if (hook) Promise.resolve().then(hook).finally(drop).catch(() => {});
      else drop();
    };
    upstream.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('fault-proxy: upstream failed\n');
      } else {
        res.destroy();
      }
    });
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
    const cutUpload = cutAfter !== undefined && hasBody;
    const cutDownload = cutAfter !== undefined && !hasBody;
    if (cutAfter !== undefined && !hasBody && req.method === 'HEAD') {
      // Nothing to cut mid-way: the connection drops before any answer.
      req.resume();
      cut();
      return;
    }

    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (cutUpload) {
        if (cutting) return;
        const room = Math.max(0, (cutAfter ?? 0) - sent);
        if (room > 0) upstream.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        stats.requestBodyBytes += Math.min(room, chunk.length);
        if (sent >= (cutAfter ?? 0)) cut();
        return;
      }
      sent += chunk.length;
      stats.requestBodyBytes += chunk.length;
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (cutUpload) cut();
      else upstream.end();
    });
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });

    upstream.on('response', (up) => {
      const responseHeaders: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) responseHeaders[name] = value;
      }
      res.writeHead(up.statusCode ?? 502, up.statusMessage, responseHeaders);
      const length = Number(up.headers['content-length'] ?? NaN);
      const limit = cutDownload ? Math.max(0, Math.min(cutAfter ?? 0, Number.isNaN(length) ? Infinity : length - 1)) : Infinity;
      let passed = 0;
      if (cutDownload && limit === 0) {
        up.destroy();
        res.destroy();
        return;
      }
      up.on('data', (chunk: Buffer) => {
        const piece = chunk.subarray(0, Math.max(0, limit - passed));
        passed += piece.length;
        stats.responseBodyBytes += piece.length;
        const more = res.write(piece);
        if (passed >= limit) {
          up.destroy();
          // Let what was written reach the client, then drop the connection mid-body.
          res.socket?.end();
          return;
        }
        const rate = options.downloadBytesPerSecond;
        if (rate || options.linkBytesPerSecond) {
          // Held for as long as the piece takes at the rate (and until the client took it).
          up.pause();
          const due = Promise.all([rate ? sleep((piece.length / rate) * 1000) : undefined, linkTurn(piece.length)]);
          const drained = more ? Promise.resolve() : new Promise<void>((resolve) => res.once('drain', () => resolve()));
          void Promise.all([due, drained]).then(() => up.resume());
        } else if (!more) {
          up.pause();
          res.once('drain', () => up.resume());
        }
      });
      up.on('end', () => {
        if (cutDownload) res.destroy();
        else res.end();
      });
      up.on('error', () => res.destroy());
    });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    stats.connections++;
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenOn, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const endpoint = `http://${listenOn}:${port}`;
  const path = targetUrl.pathname.replace(/\/+$/, '');

  return {
    url: `${endpoint}${path}${targetUrl.search}`,
    endpoint,
    port,
    stats,
    // Replaces the options (not merged), so a test states the whole fault setup.
    configure: (next) => {
      options = { ...next };
    },
    cutConnections: () => {
      const open = clients.size;
      for (const socket of clients) socket.destroy();
      return open;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** A number in [0, 1) fixed by `text`. */
function draw(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

function drain(req: IncomingMessage, stats: FaultProxyStats): Promise<void> {
  return new Promise((resolve) => {
    req.on('data', (chunk: Buffer) => (stats.requestBodyBytes += chunk.length));
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', () => resolve());
  });
}
