import { isMapping } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { EvaluationScope } from './expressions.js';
import { evaluateToken, findKey } from './tokens.js';
import { asString, type Value } from './values.js';

interface Declared {
  type: string;
  required: boolean;
  default?: TemplateToken;
}

function declarations(mapping: MappingToken | undefined): Map<string, Declared> {
  const declared = new Map<string, Declared>();
  for (const pair of mapping ?? []) {
    const spec = pair.value;
    const literal = (key: string): Value => {
      const token = findKey(spec, key);
      return token ? evaluateToken(token, { contexts: {}, where: key }) : null;
    };
    const defaultToken = isMapping(spec) ? spec.find('default') : undefined;
    declared.set(pair.key.toString(), { type: asString(literal('type')) || 'string', required: literal('required') === true, ...(defaultToken ? { default: defaultToken } : {}) });
  }
  return declared;
}

/** A value of a `type:` (string, number, boolean), as the called workflow's `inputs.*` gives it. */
function typed(value: Value, type: string, where: string): Value {
  if (type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new Error(`${where}: expected a boolean, got ${JSON.stringify(value)}`);
  }
  if (type === 'number') {
    const number = typeof value === 'number' ? value : Number(value);
    if (Number.isNaN(number)) throw new Error(`${where}: expected a number, got ${JSON.stringify(value)}`);
    return number;
  }
  return asString(value);
}

/**
 * The `inputs` context of a called workflow: each value the caller passed (checked against what the
 * workflow declares), else the declared default. An undeclared input or a missing required one fails.
 */
export function callInputs(definitions: MappingToken | undefined, given: Record<string, Value>, defaultScope: EvaluationScope, where: string): Record<string, Value> {
  const declared = declarations(definitions);
  const undeclared = Object.keys(given).filter((name) => !declared.has(name));
  if (undeclared.length > 0) throw new Error(`${where}: passes input ${undeclared.map((n) => `"${n}"`).join(', ')}, which the called workflow does not declare (it declares: ${[...declared.keys()].join(', ')})`);
  const inputs: Record<string, Value> = {};
  for (const [name, spec] of declared) {
    if (name in given) inputs[name] = typed(given[name] as Value, spec.type, `${where}: input ${name}`);
    else if (spec.required) throw new Error(`${where}: the called workflow requires input "${name}", which the caller does not pass`);
    else if (spec.default) inputs[name] = typed(evaluateToken(spec.default, { ...defaultScope, where: `${where}: default of ${name}` }), spec.type, `${where}: default of ${name}`);
    else inputs[name] = spec.type === 'boolean' ? false : spec.type === 'number' ? 0 : '';
  }
  return inputs;
}

/** The `secrets` context of a called workflow: what the caller passed, checked against its declarations. */
export function callSecrets(definitions: MappingToken | undefined, given: Record<string, string>, where: string): Record<string, string> {
  const declared = declarations(definitions);
  const undeclared = Object.keys(given).filter((name) => !declared.has(name));
  if (undeclared.length > 0) throw new Error(`${where}: passes secret ${undeclared.map((n) => `"${n}"`).join(', ')}, which the called workflow does not declare (it declares: ${[...declared.keys()].join(', ') || 'none'})`);
  for (const [name, spec] of declared) if (spec.required && !(name in given)) throw new Error(`${where}: the called workflow requires secret "${name}", which the caller does not pass`);
  return given;
}
