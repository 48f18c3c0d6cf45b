import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { agentProxyOptions } from '../../util/proxy.js';

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  headers?: OutgoingHttpHeaders;
  /** A Buffer goes with a Content-Length; a stream goes chunked. */
  body?: Buffer | Readable;
  /** Settle as soon as the status arrives and drop the body (an existence check by GET). */
  headersOnly?: boolean;
}

export interface HttpTransportOptions {
  /** Sockets per host; requests beyond it queue for a free connection. */
  maxSockets: number;
  /** A request fails with ETIMEDOUT when its socket stays silent this long. */
  idleTimeoutMs: number;
}

/**
 * node:http with keep-alive agents: a push makes thousands of small requests, and on a real
 * link the connection setup (TCP + TLS) would cost more than the request itself.
 */
export class HttpTransport {
  /** One pool per origin, each through the proxy HTTPS_PROXY/HTTP_PROXY/NO_PROXY call for there. */
  private readonly agents = new Map<string, http.Agent>();

  constructor(private readonly options: HttpTransportOptions) {}

  private agentFor(url: URL): http.Agent {
    let agent = this.agents.get(url.origin);
    if (!agent) {
      const agentOptions = { keepAlive: true, maxSockets: this.options.maxSockets, maxFreeSockets: this.options.maxSockets, scheduling: 'lifo' as const, ...agentProxyOptions(url) };
      agent = url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
      this.agents.set(url.origin, agent);
    }
    return agent;
  }

  request(url: URL, request: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(url, {
        method: request.method,
        headers: request.headers,
        agent: this.agentFor(url),
      });
      let settled = false;
      let responded = false;
      const settle = (error: unknown, response?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        // A server that answers before taking the whole body (413, 401, 5xx) gets no more of it.
        if (error !== undefined || !req.writableFinished) req.destroy();
        if (error !== undefined) reject(error);
        else resolve(response as HttpResponse);
      };
      req.setTimeout(this.options.idleTimeoutMs, () => {
        req.destroy(Object.assign(new Error(`no data from the server for ${this.options.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', (error) => settle(error));
      req.on('response', (res) => {
        responded = true;
        const head = { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers };
        if (request.headersOnly) {
          res.destroy();
          settle(undefined, { ...head, body: Buffer.alloc(0) });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => settle(error));
        res.on('end', () => settle(undefined, { ...head, body: Buffer.concat(chunks) }));
        res.on('close', () => {
          if (!res.complete) settle(Object.assign(new Error('the connection closed before the whole response arrived'), { code: 'ECONNRESET' }));
        });
      });
      if (request.body === undefined || Buffer.isBuffer(request.body)) {
        req.end(request.body);
      } else {
        pipeline(request.body, req).catch((error: unknown) => {
          // Once the server has answered, its status says more than our broken pipe.
          if (!responded) settle(error);
        });
      }
    });
  }

  /** Closes idle connections; requests still running finish first. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
  }
}
