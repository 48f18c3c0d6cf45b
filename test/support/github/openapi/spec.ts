import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The parts of an OpenAPI 3.0 document the emulator reads. */
export type SchemaObject = Record<string, unknown>;

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: SchemaObject;
  'x-multi-segment'?: boolean;
}

export interface MediaTypeObject {
  schema?: SchemaObject;
}

export interface ResponseObject {
  description?: string;
  content?: Record<string, MediaTypeObject>;
}

export interface OperationObject {
  operationId: string;
  parameters?: Array<ParameterObject | { $ref: string }>;
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject> } | { $ref: string };
  responses: Record<string, ResponseObject | { $ref: string }>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject | unknown>>;
  components: {
    schemas: Record<string, SchemaObject>;
    parameters: Record<string, ParameterObject>;
    responses: Record<string, ResponseObject>;
  };
}

const require = createRequire(import.meta.url);

/**
 * The non-dereferenced description (13 MB) is read once per process; the deref variant is
 * 73 MB and would cost a second of parsing per test file. $refs are resolved lazily instead.
 */
let cached: OpenApiDocument | undefined;

export function githubOpenApi(): OpenApiDocument {
  cached ??= JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8')) as OpenApiDocument;
  return cached;
}

const componentRef = /^#\/components\/(schemas|parameters|responses|requestBodies)\/(.+)$/;

/** Follows a local `#/components/...` reference (one level at a time, until a non-ref object). */
export function resolveRef<T>(doc: OpenApiDocument, value: T | { $ref: string }): T {
  let current: unknown = value;
  for (let depth = 0; depth < 10; depth++) {
    if (!current || typeof current !== 'object' || !('$ref' in current)) return current as T;
    const ref = (current as { $ref: string }).$ref;
    const match = componentRef.exec(ref);
    if (!match) throw new Error(`unsupported $ref ${ref}`);
    const section = (doc.components as unknown as Record<string, Record<string, unknown>>)[match[1] as string];
    current = section?.[match[2] as string];
    if (current === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  throw new Error('reference chain too deep');
}
