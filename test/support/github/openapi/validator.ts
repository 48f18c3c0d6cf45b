import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { applyLeniency } from './leniency.js';
import type { Operation } from './router.js';
import { githubOpenApi, resolveRef, type MediaTypeObject, type ParameterObject, type ResponseObject, type SchemaObject } from './spec.js';
import { toJsonSchema } from './to-json-schema.js';

const schemaBase = 'https://api.github.com/openapi/schemas/';

export interface RequestCheck {
  /** Problems GitHub would reject the request for (answered with 422). */
  errors: string[];
  /** Problems GitHub would silently ignore (unknown query or body keys): reported, still served. */
  warnings: string[];
  params: Record<string, unknown>;
  query: Record<string, unknown>;
}

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((ajvFormats as unknown as { default: AddFormats }).default ?? (ajvFormats as unknown as AddFormats));

function describeErrors(errors: ErrorObject[] | null | undefined, where: string): string[] {
  return (errors ?? []).slice(0, 12).map((e) => {
    const at = `${where}${e.instancePath}`;
    const detail = e.keyword === 'additionalProperties'
      ? `has unknown property "${(e.params as { additionalProperty: string }).additionalProperty}"`
      : e.keyword === 'enum'
        ? `${e.message}: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`
        : (e.message ?? e.keyword);
    return `${at} ${detail}`;
  });
}

/** Coerces a query or path string to the scalar type its parameter schema declares. */
function coerce(raw: string, schema: SchemaObject | undefined): unknown {
  const type = schema?.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  if (type === 'array') return raw.split(',');
  return raw;
}

export class OpenApiValidator {
  // Components are compiled once each and called by reference (inlining simple-user into every
  // schema that embeds it made the first compile of a repository response take most of a second).
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, allowUnionTypes: true, inlineRefs: false, code: { optimize: false } });
  private readonly added = new Set<string>();
  private readonly pending: string[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    addFormats(this.ajv);
  }

  private convert(schema: unknown, closeObjects = false): SchemaObject {
    return toJsonSchema(schema, {
      closeObjects,
      refFor: (name) => {
        if (!this.added.has(name)) {
          this.added.add(name);
          this.pending.push(name);
        }
        return `${schemaBase}${name}`;
      },
    });
  }

  /** Adds every component schema referenced so far (transitively) before a compile. */
  private flushComponents(): void {
    const doc = githubOpenApi();
    while (this.pending.length > 0) {
      const name = this.pending.pop() as string;
      const raw = doc.components.schemas[name];
      if (!raw) throw new Error(`GitHub's description has no component schema ${name}`);
      this.ajv.addSchema({ ...this.convert(applyLeniency(name, raw)), $id: `${schemaBase}${name}` });
    }
  }

  private validator(key: string, build: () => unknown, closeObjects = false): ValidateFunction {
    let fn = this.compiled.get(key);
    if (!fn) {
      const schema = this.convert(build(), closeObjects);
      this.flushComponents();
      fn = this.ajv.compile(schema);
      this.compiled.set(key, fn);
    }
    return fn;
  }

  private parameterValidator(op: Operation, param: ParameterObject): ValidateFunction {
    return this.validator(`${op.operationId}:${param.in}:${param.name}`, () => param.schema ?? {});
  }

  checkRequest(op: Operation, rawParams: Record<string, string>, rawQuery: URLSearchParams, body: unknown): RequestCheck {
    const doc = githubOpenApi();
    const errors: string[] = [];
    const warnings: string[] = [];
    const params: Record<string, unknown> = {};
    const query: Record<string, unknown> = {};

    for (const param of op.parameters) {
      if (param.in !== 'path' && param.in !== 'query') continue;
      const raw = param.in === 'path' ? rawParams[param.name] : (rawQuery.getAll(param.name).join(',') || undefined);
      if (raw === undefined) {
        if (param.required) errors.push(`${param.in} parameter "${param.name}" wasn't supplied`);
        continue;
      }
      const value = coerce(raw, param.schema && resolveRef<SchemaObject>(doc, param.schema));
      const validate = this.parameterValidator(op, param);
      if (!validate(value)) errors.push(...describeErrors(validate.errors, `${param.in} parameter "${param.name}"`));
      (param.in === 'path' ? params : query)[param.name] = value;
    }
    const known = new Set(op.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(rawQuery.keys())) {
      if (!known.has(name)) warnings.push(`query parameter "${name}" is not documented for ${op.operationId} (GitHub ignores it)`);
    }

    const requestBody = op.definition.requestBody && resolveRef<{ required?: boolean; content?: Record<string, MediaTypeObject> }>(doc, op.definition.requestBody);
    const hasBody = body !== undefined && !(typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0);
    if (!requestBody) {
      if (hasBody) warnings.push(`${op.operationId} takes no request body, but one was sent: ${JSON.stringify(body).slice(0, 200)}`);
    } else {
      const schema = requestBody.content?.['application/json']?.schema;
      if (body === undefined) {
        if (requestBody.required) errors.push('request body is required');
      } else if (schema) {
        const validate = this.validator(`${op.operationId}:body`, () => schema);
        if (!validate(body)) {
          errors.push(...describeErrors(validate.errors, 'body'));
        } else {
          const strict = this.validator(`${op.operationId}:body:closed`, () => schema, true);
          if (!strict(body)) warnings.push(...describeErrors(strict.errors, 'body').map((m) => `${m} (GitHub ignores it)`));
        }
      }
    }
    return { errors, warnings, params, query };
  }

  /** Returns the problems with a response the emulator produced; empty when it matches the description. */
  checkResponse(op: Operation, status: number, body: unknown): string[] {
    const doc = githubOpenApi();
    const responses = op.definition.responses;
    const documented = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!documented) {
      // GitHub's description leaves out error statuses most routes can return (401, 403 for a
      // token without permission, 404, 5xx); only success statuses must be documented.
      if (status < 300) return [`status ${status} is not documented for ${op.operationId}`];
      const validate = this.validator('basic-error', () => ({ $ref: '#/components/schemas/basic-error' }));
      return validate(body) ? [] : describeErrors(validate.errors, 'response');
    }
    const response = resolveRef<ResponseObject>(doc, documented);
    const media = response.content?.['application/json'] ?? Object.entries(response.content ?? {}).find(([type]) => type.includes('json'))?.[1];
    if (!media?.schema) {
      if (body !== undefined && status === 204) return [`status 204 must not carry a body`];
      return [];
    }
    if (body === undefined) return [`status ${status} of ${op.operationId} must carry a JSON body`];
    const validate = this.validator(`${op.operationId}:${status}`, () => media.schema);
    return validate(body) ? [] : describeErrors(validate.errors, 'response');
  }
}

let shared: OpenApiValidator | undefined;

/** One validator (and its compiled-schema cache) per process. */
export function openApiValidator(): OpenApiValidator {
  shared ??= new OpenApiValidator();
  return shared;
}
