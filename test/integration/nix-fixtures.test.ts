/**
 * The recorded Nix output the parsers are tested on (test/unit/nix/fixtures/real) is what the Nix
 * installed here prints today: recorded afresh, it has the same files and the same JSON shapes.
 * A Nix whose version has no fixtures fails here with the command that records them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectNixVersion } from '../../src/nix/nix.js';
import { formatNixVersion } from '../../src/nix/version.js';
import { exec } from '../../src/util/exec.js';

const ROOT = join(import.meta.dirname, '../..');
const COMMITTED = join(ROOT, 'test/unit/nix/fixtures/real');

/** The JSON's structure: keys and value types, not the values (times and hashes change every run). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return value === null ? null : typeof value;
}

it('the committed fixtures of this Nix match what it prints now', async () => {
  const version = `nix-${formatNixVersion(await detectNixVersion())}`;
  const committed = join(COMMITTED, version);
  if (!existsSync(committed)) {
    throw new Error(`no fixtures for ${version}: record them with "node_modules/.bin/tsx scripts/record-nix-fixtures.ts" (in the current-Nix lane: ".ci/current-nix-lane -- node_modules/.bin/tsx scripts/record-nix-fixtures.ts")`);
  }
  const out = await mkdtemp(join(tmpdir(), 'fleet-fixtures-'));
  try {
    await exec(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/record-nix-fixtures.ts'), out]);
    const fresh = join(out, version);
    expect(readdirSync(fresh).sort()).toEqual(readdirSync(committed).sort());
    for (const file of readdirSync(fresh)) {
      const [now, then] = [fresh, committed].map((dir) => readFileSync(join(dir, file), 'utf8'));
      if (file.endsWith('.code')) expect(`${file}: ${now}`).toBe(`${file}: ${then}`);
      if (file.endsWith('.json') || (file.endsWith('.stdout') && /^[[{]/.test(then?.trim() ?? ''))) {
        expect({ file, shape: shape(JSON.parse(now as string)) }).toEqual({ file, shape: shape(JSON.parse(then as string)) });
      }
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
