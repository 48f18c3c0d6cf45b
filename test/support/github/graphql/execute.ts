import { valueOf, type Directive, type DocumentNode, type FieldNode, type SelectionNode, type SourceLocation } from './parser.js';

/** A value of an interface type (Node, Actor), tagged with its concrete type. */
export interface Typed {
  typename: string;
  source: unknown;
}

export type Resolver<C> = (source: never, args: Record<string, unknown>, ctx: C) => unknown;

export interface FieldDef<C> {
  /** The return type's name: an object type of the schema, or a scalar/enum (anything else). */
  type: string;
  /** Accepted argument names; a trailing `!` marks a required one. */
  args?: string[];
  resolve: Resolver<C>;
}

export interface TypeDef<C> {
  fields: Record<string, FieldDef<C>>;
  /** For interfaces: the object types a value may have (resolvers then return `Typed`). */
  possibleTypes?: string[];
}

export type Schema<C> = Record<string, TypeDef<C>>;

export interface GraphQLError {
  message: string;
  type?: string;
  path?: Array<string | number>;
  locations?: SourceLocation[];
  extensions?: Record<string, unknown>;
}

/** A resolver failure reported like GitHub does (`type: NOT_FOUND`, `UNPROCESSABLE`, `FORBIDDEN`). */
export class FieldError extends Error {
  constructor(message: string, readonly type: string) {
    super(message);
  }
}

export interface ExecutionResult {
  data?: Record<string, unknown> | null;
  errors?: GraphQLError[];
}

function included(directives: readonly Directive[], variables: Record<string, unknown>): boolean {
  for (const d of directives) {
    const condition = d.args.if ? valueOf(d.args.if, variables) : undefined;
    if (d.name === 'skip' && condition === true) return false;
    if (d.name === 'include' && condition === false) return false;
  }
  return true;
}

class Executor<C> {
  readonly errors: GraphQLError[] = [];

  constructor(
    private readonly schema: Schema<C>,
    private readonly doc: DocumentNode,
    private readonly variables: Record<string, unknown>,
    private readonly ctx: C,
  ) {}

  private fragmentApplies(typeCondition: string | undefined, typename: string): boolean {
    if (!typeCondition || typeCondition === typename) return true;
    return this.schema[typeCondition]?.possibleTypes?.includes(typename) ?? false;
  }

  /** Checks a selection set against the schema before anything runs, as GitHub does. */
  validate(typename: string, selections: readonly SelectionNode[], path: string[]): void {
    const type = this.schema[typename];
    if (!type) return;
    for (const selection of selections) {
      if (selection.kind === 'inline') {
        this.validate(selection.typeCondition ?? typename, selection.selections, path);
        continue;
      }
      if (selection.kind === 'spread') {
        const fragment = this.doc.fragments.get(selection.name);
        if (!fragment) {
          this.errors.push({ message: `Fragment ${selection.name} was used, but not defined`, locations: [selection.loc], path, extensions: { code: 'useAndDefineFragment', fragmentName: selection.name } });
        } else {
          this.validate(fragment.typeCondition, fragment.selections, path);
        }
        continue;
      }
      const fieldPath = [...path, selection.alias ?? selection.name];
      if (selection.name === '__typename') continue;
      const field = type.fields[selection.name];
      if (!field) {
        this.errors.push({ message: `Field '${selection.name}' doesn't exist on type '${typename}'`, locations: [selection.loc], path: fieldPath, extensions: { code: 'undefinedField', typeName: typename, fieldName: selection.name } });
        continue;
      }
      const accepted = (field.args ?? []).map((a) => a.replace(/!$/, ''));
      for (const arg of Object.keys(selection.args)) {
        if (!accepted.includes(arg)) {
          this.errors.push({ message: `Field '${selection.name}' doesn't accept argument '${arg}'`, locations: [selection.loc], path: fieldPath, extensions: { code: 'argumentNotAccepted', name: selection.name, typeName: 'Field', argumentName: arg } });
        }
      }
      const missing = (field.args ?? []).filter((a) => a.endsWith('!') && !(a.slice(0, -1) in selection.args)).map((a) => a.slice(0, -1));
      if (missing.length > 0) {
        this.errors.push({ message: `Field '${selection.name}' is missing required arguments: ${missing.join(', ')}`, locations: [selection.loc], path: fieldPath, extensions: { code: 'missingRequiredArguments', className: 'Field', name: selection.name, arguments: missing.join(', ') } });
      }
      const isObject = field.type in this.schema;
      if (isObject && !selection.selections) {
        this.errors.push({ message: `Field must have selections (field '${selection.name}' returns ${field.type} but has no selections. Did you mean '${selection.name} { ... }'?)`, locations: [selection.loc], path: fieldPath, extensions: { code: 'selectionMismatch', nodeName: `field '${selection.name}'`, typeName: field.type } });
      } else if (!isObject && selection.selections) {
        this.errors.push({ message: `Selections can't be made on scalars (field '${selection.name}' returns ${field.type} but has selections [${selection.selections.map((s) => (s.kind === 'field' ? s.name : '...')).join(', ')}])`, locations: [selection.loc], path: fieldPath, extensions: { code: 'selectionMismatch', nodeName: `field '${selection.name}'`, typeName: field.type } });
      } else if (selection.selections) {
        this.validate(field.type, selection.selections, fieldPath);
      }
    }
  }

  private collect(typename: string, selections: readonly SelectionNode[], out: FieldNode[] = []): FieldNode[] {
    for (const selection of selections) {
      if (!included(selection.directives, this.variables)) continue;
      if (selection.kind === 'field') out.push(selection);
      else if (selection.kind === 'inline') {
        if (this.fragmentApplies(selection.typeCondition, typename)) this.collect(typename, selection.selections, out);
      } else {
        const fragment = this.doc.fragments.get(selection.name);
        if (fragment && this.fragmentApplies(fragment.typeCondition, typename)) this.collect(typename, fragment.selections, out);
      }
    }
    return out;
  }

  async selectionSet(typename: string, source: unknown, selections: readonly SelectionNode[], path: Array<string | number>): Promise<Record<string, unknown>> {
    const result: Record<string, unknown> = {};
    for (const field of this.collect(typename, selections)) {
      const key = field.alias ?? field.name;
      if (field.name === '__typename') {
        result[key] = typename;
        continue;
      }
      const def = this.schema[typename]?.fields[field.name] as FieldDef<C>;
      const args = Object.fromEntries(Object.entries(field.args).map(([k, v]) => [k, valueOf(v, this.variables)]));
      try {
        const value = await (def.resolve as (s: unknown, a: Record<string, unknown>, c: C) => unknown)(source, args, this.ctx);
        result[key] = await this.complete(def.type, value, field, [...path, key]);
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        this.errors.push({ type: error.type, path: [...path, key], locations: [field.loc], message: error.message });
        result[key] = null;
      }
    }
    return result;
  }

  private async complete(typename: string, value: unknown, field: FieldNode, path: Array<string | number>): Promise<unknown> {
    if (value === null || value === undefined) return null;
    const type = this.schema[typename];
    if (!type || !field.selections) return value;
    if (Array.isArray(value)) return Promise.all(value.map((item, i) => this.complete(typename, item, field, [...path, i])));
    if (type.possibleTypes) {
      const typed = value as Typed;
      return this.selectionSet(typed.typename, typed.source, field.selections, path);
    }
    return this.selectionSet(typename, value, field.selections, path);
  }
}

/** Validates then runs one operation of a document against a resolver schema. */
export async function executeGraphQL<C>(schema: Schema<C>, doc: DocumentNode, variables: Record<string, unknown>, ctx: C, operationName?: string): Promise<ExecutionResult> {
  const operation = operationName ? doc.operations.find((o) => o.name === operationName) : doc.operations[0];
  if (!operation || (!operationName && doc.operations.length > 1)) {
    return { errors: [{ message: operationName ? `No operation named "${operationName}"` : 'An operation name is required when a document has several operations' }] };
  }
  const rootType = operation.operation === 'mutation' ? 'Mutation' : 'Query';
  const values = { ...variables };
  for (const v of operation.variables) {
    if (values[v.name] === undefined && v.defaultValue) values[v.name] = valueOf(v.defaultValue, {});
  }
  const executor = new Executor(schema, doc, values, ctx);
  executor.validate(rootType, operation.selections, [[operation.operation, operation.name].filter(Boolean).join(' ')]);
  if (executor.errors.length > 0) return { errors: executor.errors };
  const data = await executor.selectionSet(rootType, null, operation.selections, []);
  return executor.errors.length > 0 ? { data, errors: executor.errors } : { data };
}
