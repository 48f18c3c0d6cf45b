import type { SchemaObject } from './spec.js';

/**
 * Places where GitHub's own OpenAPI description is stricter than what api.github.com really
 * returns. Each patch loosens exactly one spot so that a faithful response passes, and says why.
 * Everything else is validated as described.
 */
interface Patch {
  component: string;
  /** Property path inside the component; `[]` steps into array items. */
  path: string[];
  apply(node: SchemaObject): void;
  why: string;
}

/** Replaces a schema node with "the original, or an empty string". */
function orEmptyString(node: SchemaObject): void {
  const original = { ...node };
  for (const key of Object.keys(node)) delete node[key];
  node.anyOf = [original, { type: 'string', maxLength: 0 }];
}

const emptyUrlWhy = 'GitHub answers "" for URLs that were never set (the request schema defaults them to ""), yet the response schema says format: uri.';

const patches: Patch[] = [
  { component: 'deployment-status', path: ['target_url'], apply: orEmptyString, why: emptyUrlWhy },
  { component: 'deployment-status', path: ['log_url'], apply: orEmptyString, why: emptyUrlWhy },
  { component: 'deployment-status', path: ['environment_url'], apply: orEmptyString, why: emptyUrlWhy },
  {
    component: 'pull-request-simple',
    path: ['labels', '[]', 'description'],
    apply: (node) => {
      node.nullable = true;
    },
    why: 'GitHub returns `description: null` for labels created without one (the full pull-request schema says nullable, the simple one does not).',
  },
];

function step(node: SchemaObject, key: string): SchemaObject | undefined {
  if (key === '[]') return node.items as SchemaObject | undefined;
  return (node.properties as Record<string, SchemaObject> | undefined)?.[key];
}

export function applyLeniency(component: string, schema: SchemaObject): SchemaObject {
  const relevant = patches.filter((p) => p.component === component);
  if (relevant.length === 0) return schema;
  const copy = structuredClone(schema);
  for (const patch of relevant) {
    let node: SchemaObject | undefined = copy;
    for (const key of patch.path) node = node && step(node, key);
    if (!node) throw new Error(`leniency patch for ${component}.${patch.path.join('.')} no longer matches GitHub's description (${patch.why})`);
    patch.apply(node);
  }
  return copy;
}
