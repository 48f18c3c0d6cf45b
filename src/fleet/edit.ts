import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, parse, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { InventoryError } from './inventory.js';

export interface InventoryEdit {
  /** The whole edited file. */
  text: string;
  /** The value before the edit; undefined when the key was added. */
  previous?: string;
  /** False when the value was already the requested one (the text is then unchanged). */
  changed: boolean;
}

/**
 * Sets `waves.<wave>.channel` in an inventory file's text, touching nothing else: comments, key
 * order, quoting and spacing of every other line stay byte for byte. The value is replaced in
 * place (keeping its quoting style), or the key is appended to the wave's mapping when absent.
 * JSON inventories (`json: true`) get JSON quoting. The result is re-parsed and must equal the
 * original document with only that value changed.
 */
export function setWaveChannel(text: string, wave: string, channel: string, options: { json?: boolean; source?: string } = {}): InventoryEdit {
  return setScalarIn(text, ['waves', wave, 'channel'], channel, options);
}

/** Sets a string at `path` (mappings only) with a minimal text edit; the last key may be new. */
export function setScalarIn(text: string, path: readonly string[], value: string, options: { json?: boolean; source?: string } = {}): InventoryEdit {
  const source = options.source ?? 'the inventory';
  const where = path.join('.');
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new InventoryError(`${source} cannot be edited: ${document.errors[0]?.message}`);
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  if (key === undefined) throw new InventoryError('an edit needs a key');
  const parent = mapAt(document.contents, parentPath, source);
  const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === key) as Pair<Scalar, Node | null> | undefined;

  let edited: string;
  let previous: string | undefined;
  if (pair) {
    const node = pair.value;
    if (!isScalar(node) || !node.range) throw new InventoryError(`${source}: ${where} is not a plain value, so it cannot be edited in place`);
    previous = String(node.value);
    if (previous === value) return { text, previous, changed: false };
    edited = splice(text, node.range[0], node.range[1], renderScalar(value, node.type, options.json));
  } else {
    edited = appendPair(text, parent, key, value, options.json, source, where);
  }

  const expected = parse(text) as Record<string, unknown>;
  setIn(expected, path, value);
  if (!isDeepStrictEqual(parse(edited), expected)) {
    throw new InventoryError(`${source}: setting ${where} with a minimal edit would change more than that value; edit it by hand`);
  }
  return { text: edited, ...(previous !== undefined ? { previous } : {}), changed: true };
}

function mapAt(root: unknown, path: readonly string[], source: string): YAMLMap {
  let node: unknown = root;
  const walked: string[] = [];
  for (const key of path) {
    walked.push(key);
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    if (!pair) {
      const known = node.items.map((item) => (isScalar(item.key) ? String(item.key.value) : '?')).join(', ') || '(none)';
      throw new InventoryError(`${source}: ${walked.join('.')} does not exist; known: ${known}`);
    }
    node = pair.value;
  }
  if (!isMap(node)) throw new InventoryError(`${source}: ${path.join('.') || 'the document'} is not a mapping`);
  return node;
}

function appendPair(text: string, map: YAMLMap, key: string, value: string, json: boolean | undefined, source: string, where: string): string {
  const rendered = `${json ? JSON.stringify(key) : key}: ${renderScalar(value, json ? 'QUOTE_DOUBLE' : 'PLAIN', json)}`;
  if (!map.range) throw new InventoryError(`${source}: cannot locate the mapping of ${where} in the text`);
  if (map.flow) {
    const close = map.range[1] - 1;
    if (text[close] !== '}') throw new InventoryError(`${source}: cannot locate the end of the mapping of ${where}`);
    const last = map.items[map.items.length - 1];
    const lastEnd = lastValueEnd(last);
    if (lastEnd === undefined) return splice(text, close, close, map.items.length === 0 ? ` ${rendered} ` : `, ${rendered}`);
    return splice(text, lastEnd, lastEnd, `, ${rendered}`);
  }
  const first = map.items[0];
  const last = map.items[map.items.length - 1];
  const firstKey = first && isScalar(first.key) ? first.key : undefined;
  const lastEnd = lastValueEnd(last);
  if (!firstKey?.range || lastEnd === undefined) throw new InventoryError(`${source}: cannot locate the mapping of ${where} in the text`);
  const lineStart = text.lastIndexOf('\n', firstKey.range[0] - 1) + 1;
  const indent = text.slice(lineStart, firstKey.range[0]);
  if (!/^ *$/.test(indent)) throw new InventoryError(`${source}: the mapping of ${where} does not start its own line; edit it by hand`);
  const lineEnd = text.indexOf('\n', lastEnd);
  const at = lineEnd === -1 ? text.length : lineEnd;
  return splice(text, at, at, `\n${indent}${rendered}`);
}

function lastValueEnd(pair: Pair | undefined): number | undefined {
  if (!pair) return undefined;
  const node = (pair.value ?? pair.key) as Node | null;
  return node?.range?.[1];
}

/** The value in the given style, or double-quoted when the style would not read back as this string. */
function renderScalar(value: string, type: Scalar['type'], json: boolean | undefined): string {
  if (json || type === 'QUOTE_DOUBLE') return JSON.stringify(value);
  if (type === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  try {
    if (parse(`k: ${value}`)?.k === value && !/[\n#]/.test(value) && value.trim() === value) return value;
  } catch {
    // not plain-safe: quote it
  }
  return JSON.stringify(value);
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: string): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1] as string] = value;
}
