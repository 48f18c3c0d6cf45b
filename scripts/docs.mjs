// Writes the input and output tables of each action-*/README.md from its action.yml, between
// <!-- inputs:start --> / <!-- inputs:end --> and the outputs markers. `--check` fails on drift.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const cell = (text) => String(text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();

export function tables(manifest) {
  const inputs = Object.entries(manifest.inputs ?? {}).map(
    ([name, spec]) => `| \`${name}\` | ${spec.required ? 'yes' : ''} | ${spec.default === undefined || spec.default === '' ? '' : `\`${cell(spec.default)}\``} | ${cell(spec.description)} |`,
  );
  const outputs = Object.entries(manifest.outputs ?? {}).map(([name, spec]) => `| \`${name}\` | ${cell(spec.description)} |`);
  return {
    inputs: ['| input | required | default | description |', '|---|---|---|---|', ...inputs].join('\n'),
    outputs: ['| output | description |', '|---|---|', ...outputs].join('\n'),
  };
}

function fill(readme, section, table, file) {
  const pattern = new RegExp(`(<!-- ${section}:start -->\\n)(?:[\\s\\S]*?\\n)?(<!-- ${section}:end -->)`);
  if (!pattern.test(readme)) throw new Error(`${file} lacks the <!-- ${section}:start --> / <!-- ${section}:end --> markers`);
  return readme.replace(pattern, (_, start, end) => `${start}${table}\n${end}`);
}

let stale = 0;
for (const action of readdirSync(root).filter((d) => d.startsWith('action-')).sort()) {
  const file = join(root, action, 'README.md');
  if (!existsSync(file)) throw new Error(`${action}/README.md is missing`);
  const manifest = parse(readFileSync(join(root, action, 'action.yml'), 'utf8'));
  const current = readFileSync(file, 'utf8');
  const { inputs, outputs } = tables(manifest);
  const updated = fill(fill(current, 'inputs', inputs, file), 'outputs', outputs, file);
  if (updated !== current) {
    stale++;
    if (check) console.error(`${action}/README.md does not document action.yml as it is: run npm run docs`);
    else writeFileSync(file, updated);
  }
}
if (check && stale > 0) process.exit(1);
