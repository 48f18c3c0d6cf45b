import type { IncomingMessage } from 'node:http';

/** An AWS error as the service would answer it: HTTP status, error code, message. */
export class AwsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };

/**
 * A query-protocol request body (`Action=…&A.member.1.B=x`, EC2's `A.1.B=x`) as nested values:
 * numbered segments become list positions, `member` segments vanish.
 */
export function parseQueryBody(body: string): { action: string; version: string; params: Record<string, QueryValue> } {
  const form = new URLSearchParams(body);
  const root: Record<string, QueryValue> = {};
  for (const [key, value] of form) {
    if (key === 'Action' || key === 'Version') continue;
    const path = key.split('.').filter((segment) => segment !== 'member');
    let node: Record<string, QueryValue> | QueryValue[] = root;
    path.forEach((segment, i) => {
      const last = i === path.length - 1;
      const slot = /^\d+$/.test(segment) ? Number(segment) - 1 : segment;
      const next = path[i + 1];
      const container = node as Record<string | number, QueryValue>;
      if (last) container[slot] = value;
      else container[slot] ??= next !== undefined && /^\d+$/.test(next) ? [] : {};
      node = container[slot] as Record<string, QueryValue> | QueryValue[];
    });
  }
  return { action: form.get('Action') ?? '', version: form.get('Version') ?? '', params: root };
}

const escapeXml = (value: string): string => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [element: string]: XmlValue };

/**
 * Elements for `value`: object keys are element names as the wire spells them, arrays repeat
 * `item` (EC2's `<item>`, the query protocol's `<member>`), dates are ISO 8601, undefined is left out.
 */
export function toXml(value: XmlValue, item: 'member' | 'item'): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => `<${item}>${toXml(v, item)}</${item}>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([name, v]) => `<${name}>${toXml(v, item)}</${name}>`)
      .join('');
  }
  return escapeXml(String(value));
}

export const asString = (value: QueryValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);
export const asList = (value: QueryValue | undefined): QueryValue[] => (Array.isArray(value) ? value : []);
export const asRecord = (value: QueryValue | undefined): Record<string, QueryValue> => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});
