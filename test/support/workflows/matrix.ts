import type { Value } from './values.js';

type Combination = Record<string, Value>;

const matches = (combination: Combination, partial: Record<string, Value>): boolean =>
  Object.entries(partial).every(([key, value]) => JSON.stringify(combination[key]) === JSON.stringify(value));

/**
 * The legs of `strategy.matrix` as GitHub expands them: the cross product of the dimensions,
 * minus `exclude` entries, then each `include` entry either extends the legs whose original
 * values it does not overwrite, or becomes a leg of its own (so a matrix of `include` alone is
 * one leg per entry).
 */
export function expandMatrix(matrix: Value, where: string): Combination[] {
  if (matrix === null || typeof matrix !== 'object' || Array.isArray(matrix)) throw new Error(`${where}: strategy.matrix must be a mapping, got ${JSON.stringify(matrix)}`);
  const { include = [], exclude = [], ...dimensions } = matrix;
  if (!Array.isArray(include) || !Array.isArray(exclude)) throw new Error(`${where}: matrix include and exclude must be lists`);
  let legs: Combination[] = Object.keys(dimensions).length > 0 ? [{}] : [];
  for (const [key, values] of Object.entries(dimensions)) {
    if (!Array.isArray(values)) throw new Error(`${where}: matrix.${key} must be a list, got ${JSON.stringify(values)}`);
    if (values.length === 0) throw new Error(`${where}: matrix.${key} is an empty list: GitHub fails the job ("Matrix vector '${key}' does not contain any values")`);
    legs = legs.flatMap((leg) => values.map((value) => ({ ...leg, [key]: value })));
  }
  legs = legs.filter((leg) => !exclude.some((e) => matches(leg, e as Record<string, Value>)));
  const originals = legs.map((leg) => ({ ...leg }));
  for (const entry of include as Record<string, Value>[]) {
    let extended = false;
    // Only the product's legs are extended; a leg an earlier entry added is its own.
    legs.slice(0, originals.length).forEach((leg, i) => {
      const original = originals[i] as Combination;
      const overwritesOriginal = Object.entries(entry).some(([k, v]) => k in original && JSON.stringify(original[k]) !== JSON.stringify(v));
      if (!overwritesOriginal) {
        Object.assign(leg, entry);
        extended = true;
      }
    });
    if (!extended) legs.push({ ...entry });
  }
  return legs;
}
