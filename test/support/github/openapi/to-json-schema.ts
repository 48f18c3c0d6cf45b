import type { SchemaObject } from './spec.js';

/** Formats ajv-formats checks; any other format in GitHub's description (int64, repo.nwo, binary…) is ignored. */
const checkedFormats = new Set(['date-time', 'date', 'time', 'uri', 'uri-reference', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);

/** JSON Schema keywords kept as they are; OpenAPI-only ones (example, xml, discriminator…) are dropped. */
const passThrough = new Set([
  'type', 'enum', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'required',
]);

export interface ConvertOptions {
  /** Maps a component schema name to the $ref the converted schema should use. */
  refFor(componentName: string): string;
  /**
   * Treat objects that list their properties as closed (additionalProperties: false). GitHub ignores
   * unknown keys, so this is only used to report them, never to reject a request.
   */
  closeObjects?: boolean;
}

function validPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== 'string') return false;
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

/**
 * Converts an OpenAPI 3.0 schema object into draft-07 JSON Schema for ajv: `nullable` becomes an
 * explicit null alternative, component $refs are re-pointed, unknown formats are dropped.
 */
export function toJsonSchema(schema: unknown, options: ConvertOptions, insideAllOf = false): SchemaObject {
  if (schema === true || schema === undefined) return {};
  if (schema === false) return { not: {} };
  if (!schema || typeof schema !== 'object') return {};
  const source = schema as SchemaObject;

  if (typeof source.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(source.$ref)?.[1];
    if (!name) throw new Error(`unsupported schema $ref ${source.$ref}`);
    // OpenAPI 3.0 ignores siblings of $ref, so they are ignored here too.
    return { $ref: options.refFor(name) };
  }

  const out: SchemaObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (passThrough.has(key)) {
      if (key === 'pattern' && !validPattern(value)) continue;
      out[key] = value;
    } else if (key === 'format') {
      if (typeof value === 'string' && checkedFormats.has(value)) out.format = value;
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, sub]) => [name, toJsonSchema(sub, options)]));
    } else if (key === 'items') {
      out.items = toJsonSchema(value, options);
    } else if (key === 'additionalProperties') {
      out.additionalProperties = typeof value === 'boolean' ? value : toJsonSchema(value, options);
    } else if (key === 'allOf') {
      out.allOf = (value as unknown[]).map((sub) => toJsonSchema(sub, options, true));
    } else if (key === 'oneOf' || key === 'anyOf') {
      out[key] = (value as unknown[]).map((sub) => toJsonSchema(sub, options));
    } else if (key === 'not') {
      out.not = toJsonSchema(value, options);
    }
  }

  // OpenAPI 3.0 spells a single `type`; 3.1 arrays of types are accepted as well.
  if (Array.isArray(out.type) && out.type.length > 1) out.type = [...new Set(out.type)];

  if (options.closeObjects && !insideAllOf && out.properties && out.additionalProperties === undefined && !out.allOf) {
    out.additionalProperties = false;
  }

  if (source.nullable === true) {
    // `nullable` also admits null where an enum or a format would reject it.
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}
