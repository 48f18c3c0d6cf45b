import { githubOpenApi, resolveRef, type OpenApiDocument, type OperationObject, type ParameterObject } from './spec.js';

export interface Operation {
  method: string;
  /** The path template as GitHub's description spells it, e.g. `/repos/{owner}/{repo}/pulls`. */
  template: string;
  operationId: string;
  definition: OperationObject;
  parameters: ParameterObject[];
}

export interface RouteMatch {
  operation: Operation;
  params: Record<string, string>;
}

interface CompiledRoute {
  operation: Operation;
  pattern: RegExp;
  names: string[];
  literalSegments: number;
  multiSegment: boolean;
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function operationParameters(doc: OpenApiDocument, pathItem: Record<string, unknown>, op: OperationObject): ParameterObject[] {
  const shared = (pathItem.parameters as OperationObject['parameters']) ?? [];
  const byKey = new Map<string, ParameterObject>();
  for (const raw of [...shared, ...(op.parameters ?? [])]) {
    const param = resolveRef<ParameterObject>(doc, raw);
    byKey.set(`${param.in}:${param.name}`, param);
  }
  return [...byKey.values()];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(operation: Operation): CompiledRoute {
  const names: string[] = [];
  let literalSegments = 0;
  let multiSegment = false;
  const source = operation.template
    .split('/')
    .map((segment) => {
      if (!segment.includes('{')) {
        if (segment) literalSegments++;
        return escapeRegExp(segment);
      }
      // A segment may mix text and parameters, e.g. `{base}...{head}`.
      return segment
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const param = /^\{(.+)\}$/.exec(part);
          if (!param) return escapeRegExp(part);
          const name = param[1] as string;
          names.push(name);
          // GitHub marks parameters that may hold slashes (refs, file paths, `base...head`).
          const multi = operation.parameters.some((p) => p.in === 'path' && p.name === name && p['x-multi-segment']);
          if (multi) multiSegment = true;
          return multi ? '(.*)' : '([^/]+?)';
        })
        .join('');
    })
    .join('/');
  return { operation, pattern: new RegExp(`^${source}$`), names, literalSegments, multiSegment };
}

let routes: CompiledRoute[] | undefined;

function allRoutes(): CompiledRoute[] {
  if (routes) return routes;
  const doc = githubOpenApi();
  const list: CompiledRoute[] = [];
  for (const [template, pathItem] of Object.entries(doc.paths)) {
    for (const method of methods) {
      const op = pathItem[method] as OperationObject | undefined;
      if (!op?.operationId) continue;
      list.push(compile({ method: method.toUpperCase(), template, operationId: op.operationId, definition: op, parameters: operationParameters(doc, pathItem, op) }));
    }
  }
  // Literal segments beat parameters, and single-segment parameters beat multi-segment ones,
  // so `/commits/{ref}/status` wins over `/commits/{ref}` with ref = `x/status`.
  list.sort((a, b) => b.literalSegments - a.literalSegments || Number(a.multiSegment) - Number(b.multiSegment));
  routes = list;
  return list;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Finds the documented operation for a request path (without query string). */
export function matchRoute(method: string, pathname: string): RouteMatch | undefined {
  for (const route of allRoutes()) {
    if (route.operation.method !== method) continue;
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      params[name] = (match[i + 1] as string).split('/').map(decode).join('/');
    });
    return { operation: route.operation, params };
  }
  return undefined;
}

/** Whether any method is documented for this path (to tell 404 from a wrong method). */
export function pathIsDocumented(pathname: string): boolean {
  return allRoutes().some((route) => route.pattern.test(pathname));
}

export function operationById(operationId: string): Operation | undefined {
  return allRoutes().find((r) => r.operation.operationId === operationId)?.operation;
}
