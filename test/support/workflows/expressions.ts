import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { fromExpressionData, toExpressionData, type Context, type Value } from './values.js';

/** What the status functions (`success()`, `failure()`, …) answer where an expression is evaluated. */
export interface JobStatus {
  /** Every earlier step of this job succeeded, or (for a job's `if:`) every job it needs did. */
  success: boolean;
  /** An earlier step failed, or (for a job's `if:`) a job it needs failed. */
  failure: boolean;
  cancelled: boolean;
}

/** Every context a workflow may name; an expression naming another one is an error, as on GitHub. */
export const CONTEXT_NAMES = ['github', 'env', 'vars', 'secrets', 'inputs', 'needs', 'matrix', 'strategy', 'steps', 'job', 'jobs', 'runner'] as const;

/** The functions GitHub adds to the expression language's own (contains, format, fromJSON, …). */
function runnerFunctions(status: JobStatus, hashFiles: (patterns: string[]) => string): Map<string, FunctionDefinition> {
  const constant = (name: string, answer: () => boolean): FunctionDefinition => ({ name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(answer()) });
  return new Map<string, FunctionDefinition>([
    ['success', constant('success', () => status.success && !status.cancelled)],
    ['failure', constant('failure', () => status.failure)],
    ['always', constant('always', () => true)],
    ['cancelled', constant('cancelled', () => status.cancelled)],
    ['hashfiles', { name: 'hashFiles', minArgs: 1, maxArgs: 255, call: (...patterns) => new data.StringData(hashFiles(patterns.map((p) => p.coerceString()))) }],
  ]);
}

export interface EvaluationScope {
  contexts: Partial<Record<(typeof CONTEXT_NAMES)[number], Value>>;
  status?: JobStatus;
  hashFiles?: (patterns: string[]) => string;
  /** Where the expression comes from, for error messages (`job deploy, step deploy, with.hosts`). */
  where: string;
}

const noHashFiles = (): string => {
  throw new Error('hashFiles() is not available here');
};

/**
 * Evaluates one expression (without `${{ }}`) with GitHub's own lexer, parser and evaluator. A
 * context or function GitHub does not have is an error, not an empty value.
 */
export function evaluateExpression(expression: string, scope: EvaluationScope): Value {
  const status = scope.status ?? { success: true, failure: false, cancelled: false };
  const functions = runnerFunctions(status, scope.hashFiles ?? noHashFiles);
  let tree;
  try {
    const { tokens } = new Lexer(expression).lex();
    tree = new Parser(tokens, [...CONTEXT_NAMES], [...functions.values()]).parse();
  } catch (error) {
    throw new Error(`${scope.where}: cannot evaluate \${{ ${expression} }}: ${(error as Error).message}`, { cause: error });
  }
  const contexts: Context = {};
  for (const name of CONTEXT_NAMES) {
    const value = scope.contexts[name];
    if (value !== undefined) contexts[name] = value;
  }
  const result = new Evaluator(tree, toExpressionData(contexts) as data.Dictionary, functions).evaluate();
  // A context that exists but was not given here (e.g. `steps` in a job's `if:`) reads as null.
  return result === undefined ? null : fromExpressionData(result);
}
