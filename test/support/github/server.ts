import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorCore } from './core.js';
import { handleGraphQL } from './graphql/handler.js';
import { errorBody, HttpError } from './http-errors.js';
import { matchRoute, type Operation } from './openapi/router.js';
import { openApiValidator } from './openapi/validator.js';
import { acceptedPermissions, grants, integrationForbiddenMessage } from './permissions.js';
import { routes } from './routes/index.js';
import type { Reply, RequestContext } from './routes/types.js';

/** Where the API is served: github.com at the root (REST) and /graphql; GHES under /api/v3 and at /api/graphql. */
export interface ApiMount {
  rest: string;
  graphql: string;
}
export const GITHUB_COM: ApiMount = { rest: '', graphql: '/graphql' };
export const ENTERPRISE_SERVER: ApiMount = { rest: '/api/v3', graphql: '/api/graphql' };

/** The path as the routes know it (REST under /, GraphQL at /graphql), or undefined outside the mount. */
function routedPath(path: string, mount: ApiMount): string | undefined {
  if (path === mount.graphql) return '/graphql';
  if (mount.rest === '') return path === '/graphql' ? undefined : path;
  return path.startsWith(`${mount.rest}/`) ? path.slice(mount.rest.length) : undefined;
}

export type ViolationKind = 'request' | 'response' | 'unimplemented' | 'internal' | 'graphql';

/** Something that would not have worked against api.github.com, or that the emulator got wrong. */
export interface Violation {
  kind: ViolationKind;
  method: string;
  path: string;
  operationId?: string;
  status?: number;
  messages: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** GitHub's operationId (`pulls/create`), `graphql`, or undefined for an unknown route. */
  operationId?: string;
  status: number;
  requestBody?: unknown;
  responseBody?: unknown;
  /** Answered by a `failNext` fault instead of the emulator. */
  injected?: boolean;
}

export interface Fault {
  method: string;
  /** An exact path, a path template (`/repos/{owner}/{repo}/pulls`), a glob with `*`, or a RegExp on the path. */
  pattern: string | RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  remaining: number;
}

const jsonType = 'application/json; charset=utf-8';

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

function faultMatches(fault: Fault, method: string, path: string, template: string | undefined): boolean {
  if (fault.method !== '*' && fault.method.toUpperCase() !== method) return false;
  if (fault.pattern instanceof RegExp) return fault.pattern.test(path);
  if (fault.pattern === path || fault.pattern === template) return true;
  return fault.pattern.includes('*') && globToRegExp(fault.pattern).test(path);
}

/** Serializes handlers: GitHub's own checks (duplicate PRs, ref updates) are atomic. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class EmulatorServer {
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly faults: Fault[] = [];
  private readonly server: Server;
  private readonly mutex = new Mutex();

  constructor(
    private readonly core: EmulatorCore,
    private readonly token: string,
    private readonly mount: ApiMount = GITHUB_COM,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.violations.push({ kind: 'internal', method: req.method ?? '?', path: req.url ?? '?', messages: [String((error as Error)?.stack ?? error)] });
        if (!res.headersSent) res.writeHead(500, { 'content-type': jsonType });
        res.end(JSON.stringify({ message: 'Server Error' }));
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string> = {
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      ...reply.headers,
    };
    if (reply.raw) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.raw.contentType, 'content-length': String(reply.raw.data.length) });
      res.end(reply.raw.data);
      return;
    }
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, { ...headers, 'content-type': jsonType, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private violation(kind: ViolationKind, method: string, path: string, messages: string[], extra: Partial<Violation> = {}): void {
    if (messages.length > 0) this.violations.push({ kind, method, path, messages, ...extra });
  }

  private takeFault(method: string, path: string, template: string | undefined): Fault | undefined {
    const index = this.faults.findIndex((f) => faultMatches(f, method, path, template));
    if (index === -1) return undefined;
    const fault = this.faults[index] as Fault;
    if (--fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private faultReply(fault: Fault): Reply {
    const body = fault.body ?? errorBody(fault.status, fault.status >= 500 ? 'Server Error' : `Injected HTTP ${fault.status}`);
    return { status: fault.status, body, ...(fault.headers ? { headers: fault.headers } : {}) };
  }

  private authenticate(req: IncomingMessage): Reply | undefined {
    const header = req.headers.authorization;
    if (!header) return { status: 401, body: errorBody(401, 'Requires authentication') };
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (!match || match[1] !== this.token) return { status: 401, body: errorBody(401, 'Bad credentials') };
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const mounted = routedPath(url.pathname, this.mount);
    const path = mounted ?? url.pathname;
    const raw = await readBody(req);
    const record: RecordedRequest = { method, path, query: Object.fromEntries(url.searchParams), status: 0 };
    this.requests.push(record);
    const reply = (r: Reply): void => {
      record.status = r.status;
      record.responseBody = r.raw ? r.raw.data.toString('utf8') : r.body;
      this.send(res, r);
    };

    // GitHub Enterprise Server answers nothing outside /api/v3 and /api/graphql.
    if (mounted === undefined) return reply({ status: 404, body: errorBody(404, 'Not Found') });
    const unauthenticated = this.authenticate(req);
    if (unauthenticated) return reply(unauthenticated);

    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
        record.requestBody = body;
      } catch {
        record.requestBody = raw.toString('utf8');
        this.violation('request', method, path, ['request body is not valid JSON']);
        return reply({ status: 400, body: errorBody(400, 'Problems parsing JSON') });
      }
    }

    if (path === '/graphql' && method === 'POST') {
      record.operationId = 'graphql';
      const fault = this.takeFault(method, path, '/graphql');
      if (fault) {
        record.injected = true;
        return reply(this.faultReply(fault));
      }
      const { result, problems } = await this.mutex.run(() => handleGraphQL(this.core, body));
      this.violation('graphql', method, path, problems, { operationId: 'graphql' });
      return reply({ status: 200, body: result });
    }

    const match = matchRoute(method, path);
    if (!match) {
      this.violation('request', method, path, [`no documented GitHub REST route for ${method} ${path}`]);
      return reply({ status: 404, body: errorBody(404, 'Not Found') });
    }
    const op = match.operation;
    record.operationId = op.operationId;

    const check = openApiValidator().checkRequest(op, match.params, url.searchParams, body);
    const tag = { operationId: op.operationId };
    this.violation('request', method, path, check.warnings, tag);
    if (check.errors.length > 0) {
      this.violation('request', method, path, check.errors, tag);
      return reply({ status: 422, body: errorBody(422, `Invalid request.\n\n${check.errors.join('\n')}`) });
    }

    const fault = this.takeFault(method, path, op.template);
    if (fault) {
      record.injected = true;
      const injected = this.faultReply(fault);
      this.checkResponse(op, injected, method, path, true);
      return reply(injected);
    }

    const route = routes[op.operationId];
    if (!route) {
      this.violation('unimplemented', method, path, [`${op.operationId} (${method} ${op.template}) is not implemented by the GitHub emulator`], tag);
      return reply({ status: 501, body: errorBody(501, `${op.operationId} is not implemented by the GitHub emulator`) });
    }

    const s = this.core.settings;
    const { owner, repo } = check.params;
    if ((owner !== undefined && String(owner).toLowerCase() !== s.owner.toLowerCase()) || (repo !== undefined && String(repo).toLowerCase() !== s.repo.toLowerCase())) {
      return reply({ status: 404, body: errorBody(404, 'Not Found') });
    }
    if (route.permission && !grants(this.core.permissions, route.permission)) {
      const denied: Reply = { status: 403, body: errorBody(403, integrationForbiddenMessage), headers: { 'x-accepted-github-permissions': acceptedPermissions(route.permission) } };
      this.checkResponse(op, denied, method, path);
      return reply(denied);
    }

    const ctx: RequestContext = {
      core: this.core,
      params: check.params,
      query: check.query,
      body,
      headers: req.headers,
      url: new URL(`${url.pathname}${url.search}`, this.core.urls.api),
      warn: (message) => this.violation('request', method, path, [message], tag),
    };
    let result: Reply;
    try {
      result = await this.mutex.run(() => route.handle(ctx));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      result = { status: error.status, body: error.body, headers: error.headers };
    }
    this.checkResponse(op, result, method, path);
    return reply(result);
  }

  /**
   * Validates what the emulator answers against GitHub's description. Injected faults are only
   * checked where the description documents their status: tests may inject any status.
   */
  private checkResponse(op: Operation, result: Reply, method: string, path: string, injected = false): void {
    if (result.raw) return;
    if (injected && !op.definition.responses[String(result.status)]) return;
    const problems = openApiValidator().checkResponse(op, result.status, result.body);
    this.violation('response', method, path, problems, { operationId: op.operationId, status: result.status });
  }
}
