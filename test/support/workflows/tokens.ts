import { isBasicExpression, isBoolean, isMapping, isNumber, isSequence, isString } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import { evaluateExpression, type EvaluationScope } from './expressions.js';
import { asString, type Value } from './values.js';

/**
 * A workflow value with its `${{ }}` evaluated. The parser has already turned `a ${{ x }} b`
 * into one expression (`format('a {0} b', x)`), so a token is either literal or one expression.
 */
export function evaluateToken(token: TemplateToken, scope: EvaluationScope): Value {
  if (isBasicExpression(token)) return evaluateExpression(token.expression, scope);
  if (isString(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isSequence(token)) {
    const items: Value[] = [];
    for (let i = 0; i < token.count; i++) items.push(evaluateToken(token.get(i), scope));
    return items;
  }
  if (isMapping(token)) {
    const object: Record<string, Value> = {};
    for (const pair of token) object[asString(evaluateToken(pair.key, scope))] = evaluateToken(pair.value, { ...scope, where: `${scope.where}.${pair.key.toString()}` });
    return object;
  }
  return null;
}

/** A mapping (`with:`, `env:`, `outputs:`) evaluated to strings, as the runner hands them on. */
export function evaluateStringMap(token: TemplateToken | undefined, scope: EvaluationScope): Record<string, string> {
  if (!token) return {};
  const strings: Record<string, string> = {};
  for (const pair of token as MappingToken) {
    const key = asString(evaluateToken(pair.key, scope));
    strings[key] = asString(evaluateToken(pair.value, { ...scope, where: `${scope.where}.${key}` }));
  }
  return strings;
}

/** A literal key of a mapping token, or undefined. */
export function findKey(mapping: TemplateToken | undefined, key: string): TemplateToken | undefined {
  return mapping && isMapping(mapping) ? mapping.find(key) : undefined;
}
