/**
 * Records what the installed Nix really prints, for the parsers' unit tests: `nix build --json`
 * (flake attributes, `.drv^out`, plain store paths, dry runs, failures), `path-info --json`,
 * `flake metadata`, `flake.lock`, `eval --json` and the error texts fleet classifies.
 *
 *   npx tsx scripts/record-nix-fixtures.ts [OUT_DIR]
 *
 * Writes OUT_DIR/nix-<version>/ (default test/unit/nix/fixtures/real). Run it once per Nix lane:
 * `npx tsx scripts/record-nix-fixtures.ts` on the machine, and through `.ci/current-nix-lane --record`.
 * Everything is made under one fixed temporary path with a fixed signing key, so every version
 * records the same store paths and signatures and the fixtures of two versions can be compared.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNixVersion, formatNixVersion, nixAtLeast } from '../src/nix/version.js';
import { exec, type ExecResult } from '../src/util/exec.js';
import { OFFLINE_NIX_CONFIG } from '../test/support/nix.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = '/tmp/fleet-nix-fixtures';
const FLAKE = `${WORK}/flake`;
const INVALID = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-fixture-missing';
const SYSTEM = 'x86_64-linux';


/** A fixed Ed25519 key (seed 0x01…0x20): signatures are the same in every version's fixtures. */
function fixtureKey(): { secret: string; public: string } {
  const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' }).x as string;
  const pubBytes = Buffer.from(pub, 'base64url');
  return { secret: `fixture-1:${Buffer.concat([seed, pubBytes]).toString('base64')}`, public: `fixture-1:${pubBytes.toString('base64')}` };
}

const sh = (name: string, script: string, extra = '') =>
  `builtins.derivation { name = "${name}"; system = "${SYSTEM}"; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; args = [ "-c" ${JSON.stringify(script)} ]; ${extra} }`;

const FILES: Record<string, string> = {
  'lib/flake.nix': `{ inputs.util.url = "path:${WORK}/util"; outputs = { self, util }: { value = "lib"; }; }`,
  'util/flake.nix': `{ outputs = { self }: { value = "util"; }; }`,
  'flake/flake.nix': `{
  inputs.lib.url = "path:${WORK}/lib";
  inputs.lib.inputs.util.follows = "util";
  inputs.util.url = "path:${WORK}/util";
  outputs = { self, lib, util }:
    let
      dep = ${sh('fixture-dep-1.0', 'echo dep > $out')};
      app = ${sh('fixture-app-2.0', 'echo ${dep} > $out; mkdir -p $doc; echo manual > $doc/README', 'outputs = [ "out" "doc" ];')};
      bad = ${sh('fixture-bad-0.1', 'echo failing now >&2; exit 3')};
      needs-bad = ${sh('fixture-needs-bad-1.0', 'echo ${bad} > $out')};
    in {
      packages.${SYSTEM} = { inherit dep app bad needs-bad; };
      broken = throw "fixture evaluation error";
      fleet = { hosts.web1 = { environment = "production"; tags = [ "web" ]; deploy.method = "ssh"; }; };
      checks.${SYSTEM} = { passes = dep; fails = bad; };
    };
}
`,
  'hello.txt': 'hello from the fixtures\n',
};

async function nix(args: string[], extraConfig = ''): Promise<ExecResult> {
  return exec('nix', args, { env: { ...process.env, NIX_CONFIG: [OFFLINE_NIX_CONFIG, extraConfig].filter(Boolean).join('\n') }, allowFailure: true });
}

async function ok(args: string[]): Promise<string> {
  const result = await nix(args);
  if (result.code !== 0) throw new Error(`nix ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
  return result.stdout.trim();
}

const version = parseNixVersion(await ok(['--version']));
const outDir = join(process.argv[2] ?? join(ROOT, 'test/unit/nix/fixtures/real'), `nix-${formatNixVersion(version)}`);
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const record = (name: string, text: string) => writeFile(join(outDir, name), text.endsWith('\n') || text === '' ? text : `${text}\n`);
const recordResult = async (name: string, result: ExecResult) => {
  await record(`${name}.stdout`, result.stdout);
  // Nix's progress lines carry timings and temporary paths; the messages are what fixtures are for.
  await record(`${name}.stderr`, result.stderr);
  await record(`${name}.code`, String(result.code));
};

await exec('chmod', ['-R', 'u+w', WORK], { allowFailure: true });
await rm(WORK, { recursive: true, force: true });
for (const [name, content] of Object.entries(FILES)) {
  await mkdir(join(WORK, name, '..'), { recursive: true });
  await writeFile(join(WORK, name), content);
}
const flake = `path:${FLAKE}`;
await record('version.txt', await ok(['--version']));

// flake.lock and metadata (a path input that follows another).
await ok(['flake', 'lock', flake]);
await record('flake-metadata.json', await ok(['flake', 'metadata', '--json', flake]));
await record('flake.lock', await readFile(join(FLAKE, 'flake.lock'), 'utf8'));

// nix build --json, of each installable shape.
await record('build-dry-run.json', await ok(['build', '--dry-run', '--json', '--no-link', `${flake}#app`, `${flake}#dep`]));
const built = await ok(['build', '--json', '--no-link', `${flake}#app`, `${flake}#dep`]);
await record('build-flake.json', built);
const entries = JSON.parse(built.split('\n').at(-1) as string) as { drvPath: string; outputs: Record<string, string> }[];
const [app, dep] = entries as [(typeof entries)[0], (typeof entries)[0]];
await record('build-store-path.json', await ok(['build', '--json', '--no-link', dep.outputs.out as string]));
// `DRV^out` from Nix 2.13 (before, a bare `DRV` built its outputs); newer Nix reads a bare `DRV` as the file itself.
if (nixAtLeast(version, 2, 13)) await record('build-drv-out.json', await ok(['build', '--json', '--no-link', `${app.drvPath}^out`]));
await recordResult('build-drv', await nix(['build', '--json', '--no-link', app.drvPath]));
await recordResult('build-failure', await nix(['build', '--json', '--no-link', '--keep-going', `${flake}#bad`, `${flake}#needs-bad`, `${flake}#app`]));
await record('build-failure-drvs.json', await ok(['build', '--dry-run', '--json', '--no-link', `${flake}#bad`, `${flake}#needs-bad`]));
// A derivation of another system: Nix refuses it by name (action-build's hint for hosts without `system`).
const foreign = `builtins.derivation { name = "fixture-foreign-1.0"; system = "${SYSTEM === 'x86_64-linux' ? 'aarch64-linux' : 'x86_64-linux'}"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }`;
await recordResult('build-foreign-system', await nix(['build', '--json', '--no-link', '--impure', '--expr', foreign]));
await recordResult('eval-error', await nix(['build', '--dry-run', '--json', '--no-link', `${flake}#broken`]));
await recordResult('missing-attribute', await nix(['eval', '--json', `${flake}#nope`]));
await recordResult('flake-check', await nix(['flake', 'check', '--keep-going', flake]));
await recordResult('flakes-disabled', await exec('nix', ['eval', '--json', `${flake}#fleet`], { env: { ...process.env, NIX_CONFIG: 'experimental-features =' }, allowFailure: true }));

// nix eval --json: an inventory attribute, and attribute names.
await record('eval-inventory.json', await ok(['eval', '--json', `${flake}#fleet`]));
await record('eval-attr-names.json', await ok(['eval', '--json', '--apply', 'builtins.attrNames', `${flake}#packages.${SYSTEM}`]));

// path-info: a signed path, a content-addressed file, an output with references, an invalid path.
const key = fixtureKey();
await writeFile(join(WORK, 'secret-key'), key.secret);
await ok(['store', 'sign', '--key-file', join(WORK, 'secret-key'), dep.outputs.out as string]);
await rm(join(WORK, 'secret-key'));
const hello = await ok(['store', 'add-file', join(WORK, 'hello.txt')]);
const formatArgs = nixAtLeast(version, 2, 33) ? ['--json-format', '1'] : [];
const paths = [app.outputs.out as string, dep.outputs.out as string, hello, INVALID];
await recordResult('path-info', await nix(['path-info', '--json', ...formatArgs, '--closure-size', ...paths]));
await record('path-info-recursive.json', await ok(['path-info', '--json', ...formatArgs, '--recursive', app.outputs.out as string]));
await record('path-info-drv.json', await ok(['path-info', '--json', ...formatArgs, '--derivation', app.drvPath]));
if (nixAtLeast(version, 2, 33)) {
  await recordResult('path-info-format-2', await nix(['path-info', '--json', '--json-format', '2', '--closure-size', ...paths]));
}
await recordResult('path-not-valid', await nix(['path-info', INVALID]));

// Reading a cache back: an unsigned path refused, then a NAR changed under its narinfo.
const cache = `file://${WORK}/cache?compression=none`;
await ok(['copy', '--to', cache, app.outputs.out as string]);
const other = `${WORK}/other-store`;
await recordResult('copy-unsigned', await nix(['copy', '--from', cache, '--to', other, '--option', 'trusted-public-keys', key.public, '--option', 'require-sigs', 'true', app.outputs.out as string]));
// Narinfos as Nix itself writes them, signed (the key file exists only for this copy).
await writeFile(join(WORK, 'secret-key'), key.secret);
await ok(['copy', '--to', `file://${WORK}/signed-cache?compression=xz&secret-key=${join(WORK, 'secret-key')}`, app.outputs.out as string, hello]);
await rm(join(WORK, 'secret-key'));
for (const file of (await readdir(`${WORK}/signed-cache`)).filter((f) => f.endsWith('.narinfo') || f === 'nix-cache-info')) {
  await record(`cache-${file}`, await readFile(join(`${WORK}/signed-cache`, file), 'utf8'));
}
// The app's file holds the dep's path: change one character of it, keeping the NAR's length.
for (const file of await readdir(`${WORK}/cache/nar`)) {
  const nar = join(`${WORK}/cache/nar`, file);
  const bytes = await readFile(nar);
  const at = bytes.indexOf('fixture-dep-1.0\n');
  if (at < 0) continue;
  await chmod(nar, 0o644);
  bytes[at] = 'F'.charCodeAt(0);
  await writeFile(nar, bytes);
}
await recordResult('copy-corrupt-nar', await nix(['copy', '--from', cache, '--to', `${WORK}/third-store`, '--no-check-sigs', app.outputs.out as string]));

await record('README.md', `Recorded by scripts/record-nix-fixtures.ts from ${version.text} on ${new Date().toISOString().slice(0, 10)}.\n`);
process.stderr.write(`recorded ${version.text} into ${outDir}\n`);
