import type { IncomingHttpHeaders } from 'node:http';
import type { EmulatorCore } from '../core.js';
import type { PermissionRequirement } from '../permissions.js';

export interface RequestContext {
  core: EmulatorCore;
  /** Path parameters, decoded and coerced to the documented types. */
  params: Record<string, unknown>;
  /** Documented query parameters, coerced to the documented types. */
  query: Record<string, unknown>;
  /** The JSON body, already validated against the operation's request schema. */
  body: unknown;
  headers: IncomingHttpHeaders;
  /** The full request URL (pagination links are built from it). */
  url: URL;
  /**
   * Reports a request GitHub would accept but silently misread (e.g. a filter it ignores): the
   * response stays faithful, and the problem is recorded as a violation so the test fails.
   */
  warn(message: string): void;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A non-JSON body (raw media types). */
  raw?: { data: Buffer; contentType: string };
}

export interface Route {
  /**
   * The token must hold one of these grants (or, for a list, every requirement); absent means
   * metadata read, which every token has.
   */
  permission?: PermissionRequirement | PermissionRequirement[];
  handle(ctx: RequestContext): Promise<Reply>;
}

/** Handlers keyed by GitHub's operationId (e.g. `pulls/create`). */
export type RouteTable = Record<string, Route>;

export const json = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({ status, body, ...(headers ? { headers } : {}) });

export function intParam(ctx: RequestContext, name: string): number {
  return Number(ctx.params[name]);
}

export function stringParam(ctx: RequestContext, name: string): string {
  return String(ctx.params[name]);
}

/** `Accept: application/vnd.github.raw` (or the older `.v3.raw`) asks for the bytes themselves. */
export function wantsRaw(ctx: RequestContext): boolean {
  return /application\/vnd\.github(?:\.v3)?\.raw/.test(String(ctx.headers.accept ?? ''));
}

/** GitHub serves raw text as text/plain and anything else as octet-stream. */
export function rawReply(data: Buffer): Reply {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(data);
  const isText = !text.includes('\uFFFD') && !data.includes(0);
  return { status: 200, raw: { data, contentType: isText ? 'text/plain; charset=utf-8' : 'application/octet-stream' } };
}
