import { data } from '@actions/expressions';

/** A plain JSON value: what contexts hold and what expressions evaluate to, outside the evaluator. */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Context = Record<string, Value>;

export function toExpressionData(value: Value | undefined): data.ExpressionData {
  if (value === undefined || value === null) return new data.Null();
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toExpressionData));
  return new data.Dictionary(...Object.entries(value).map(([key, v]) => ({ key, value: toExpressionData(v) })));
}

export function fromExpressionData(value: data.ExpressionData): Value {
  return JSON.parse(JSON.stringify(value, data.replacer)) as Value;
}

/** How the runner turns a value into the string an input, env var or `run:` script receives. */
export function asString(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // GitHub writes objects and arrays as pretty JSON where a string is wanted.
  return JSON.stringify(value, null, 2);
}

/** GitHub's truthiness: null, false, 0, NaN and '' are false; arrays and objects are true. */
export function isTruthy(value: Value): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value.length > 0;
  return true;
}
