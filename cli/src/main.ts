/**
 * `fleet build|deploy|bump|wave|status|gc`: the actions, from a terminal (and `fleet export`, which is
 * no action: it copies pull hosts' manifests and closures to removable media). Each command runs the
 * same committed bundle the action runs, with inputs from flags named like the inputs
 * (`--cache URL`, `--hosts 'web*'`); `--NAME-file PATH` reads a value from a file, and secrets
 * may come from FLEET_<NAME> variables (`FLEET_SIGNING_KEY`), never from argv.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputEnvironment, makeStepDir, readActionManifest, runActionSteps, type ActionManifest } from '../../src/local-runner/action-process.js';
import { summaryAsText, WorkflowCommandPrinter } from '../../src/local-runner/terminal.js';
import { fileErrorReason } from '../../src/util/errors.js';
import { EXPORT_ABOUT, exportCommand } from './export.js';
import { exec } from '../../src/util/exec.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
/** `fixed` inputs cannot be changed by a flag; `defaults` replace the action's own defaults (a flag wins). */
const COMMANDS: Record<string, { action: string; fixed?: Record<string, string>; defaults?: Record<string, string>; about: string }> = {
  build: { action: 'action-build', about: 'build hosts and VM tests, push their closures to a binary cache' },
  deploy: { action: 'action-deploy', about: 'roll systems out to the hosts of an environment' },
  bump: { action: 'action-flake-bump', about: 'open or update the flake.lock bump pull request' },
  wave: { action: 'action-upgrade-wave', about: 'promote staging or advance the next upgrade wave' },
  status: { action: 'action-upgrade-wave', fixed: { mode: 'status' }, about: 'report which hosts run what, per wave' },
  gc: { action: 'action-gc', defaults: { 'dry-run': 'true' }, about: 'garbage-collect the binary cache (a dry run unless --dry-run false)' },
};
const SECRET_INPUTS = ['signing-key', 'ssh-private-key', 'manifest-signing-key', 'token', 'github-token'];

function usage(): string {
  const lines = [...Object.entries(COMMANDS).map(([name, c]) => `  fleet ${name.padEnd(7)} ${c.about}`), `  fleet ${'export'.padEnd(7)} ${EXPORT_ABOUT}`];
  return `usage: fleet COMMAND [--INPUT VALUE]… [--INPUT-file PATH]… [--verbose]\n\n${lines.join('\n')}\n\n'fleet COMMAND --help' lists a command's inputs.`;
}

function help(command: string, manifest: ActionManifest): string {
  const inputs = Object.entries(manifest.inputs ?? {}).map(([name, spec]) => {
    const secret = SECRET_INPUTS.includes(name) ? ` (or FLEET_${name.toUpperCase().replace(/-/g, '_')})` : '';
    const fallback = spec.default ? ` [${spec.default}]` : spec.required ? ' (required)' : '';
    return `  --${name}${fallback}${secret}\n      ${(spec.description ?? '').replace(/\s+/g, ' ')}`;
  });
  return `fleet ${command}: ${COMMANDS[command]?.about}\n\n${inputs.join('\n')}`;
}

/** Flags to inputs: `--name value`, `--name=value`, `--name-file path`, a bare `--flag` is true. */
export function parseFlags(args: readonly string[], manifest: ActionManifest): { inputs: Record<string, string>; verbose: boolean } {
  const inputs: Record<string, string> = {};
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--verbose' || arg === '-v') {
      verbose = true;
      continue;
    }
    const match = /^--([a-z0-9-]+?)(-file)?(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unexpected argument "${arg}"; flags look like --cache s3://bucket`);
    const [, name, fromFile, inline] = match as unknown as [string, string, string | undefined, string | undefined];
    const known = manifest.inputs?.[name] ? name : fromFile && manifest.inputs?.[`${name}-file`] ? `${name}-file` : undefined;
    if (!known) throw new Error(`unknown flag --${name}${fromFile ?? ''}; see --help`);
    const next = args[i + 1];
    const given = inline ?? (next !== undefined && !next.startsWith('--') ? (i++, next) : undefined);
    if (fromFile && known === name) {
      inputs[name] = readFlagFile(name, given);
      continue;
    }
    if (SECRET_INPUTS.includes(known)) {
      throw new Error(`--${known} would put a secret on the command line: use --${known}-file PATH or FLEET_${known.toUpperCase().replace(/-/g, '_')}`);
    }
    inputs[known] = given ?? 'true';
  }
  return { inputs, verbose };
}

/** The value of `--NAME-file PATH`; every problem names the flag and the path (a path is no secret). */
function readFlagFile(name: string, path: string | undefined): string {
  const flag = `--${name}-file`;
  const example = `(example: ${flag} ~/.config/fleet/${name})`;
  if (!path) throw new Error(`${flag} needs the path of a file holding the value ${example}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Error(`${flag}: cannot read ${JSON.stringify(path)}: ${fileErrorReason(error)} ${example}`, { cause: error });
  }
  if (!text) throw new Error(`${flag}: ${JSON.stringify(path)} is empty ${example}`);
  return text;
}

/** Outputs are strings for the runner; JSON ones (store-paths, report) print as JSON here. */
function asJson(value: string): unknown {
  if (!/^[[{]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

async function gitRef(): Promise<string | undefined> {
  try {
    const { code, stdout } = await exec('git', ['rev-parse', '--symbolic-full-name', 'HEAD'], { allowFailure: true });
    return code === 0 ? stdout.trim() || undefined : undefined;
  } catch {
    // No git on the PATH.
    return undefined;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(usage());
    return command ? 0 : 2;
  }
  // Not an action: it runs here, on the operator's machine, with the disk mounted.
  if (command === 'export') return exportCommand(rest);
  const spec = COMMANDS[command];
  if (!spec) {
    console.error(`unknown command "${command}"\n\n${usage()}`);
    return 2;
  }
  const actionDir = join(ROOT, spec.action);
  const manifest = await readActionManifest(actionDir);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(help(command, manifest));
    return 0;
  }
  const { inputs, verbose } = parseFlags(rest, manifest);
  for (const name of SECRET_INPUTS) {
    const fromEnv = process.env[`FLEET_${name.toUpperCase().replace(/-/g, '_')}`];
    if (manifest.inputs?.[name] && inputs[name] === undefined && fromEnv) inputs[name] = fromEnv;
  }
  for (const [name, value] of Object.entries(spec.defaults ?? {})) inputs[name] ??= value;
  for (const [name, value] of Object.entries(spec.fixed ?? {})) {
    if (inputs[name] !== undefined && inputs[name] !== value) {
      throw new Error(`fleet ${command} always runs with --${name} ${value}, not ${JSON.stringify(inputs[name])}; use fleet wave --${name} ${inputs[name]} for that`);
    }
    inputs[name] = value;
  }
  const workDir = await makeStepDir();
  const printer = new WorkflowCommandPrinter((text) => process.stderr.write(text), verbose);
  try {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      GITHUB_WORKSPACE: process.cwd(),
      GITHUB_REF: process.env.GITHUB_REF ?? (await gitRef()) ?? '',
      ...inputEnvironment(manifest, inputs, process.env.GITHUB_TOKEN ?? ''),
    };
    const steps = await runActionSteps(actionDir, manifest, env, {
      cwd: process.cwd(),
      workDir,
      onStdout: (chunk) => printer.push(chunk),
      onStderr: (chunk) => process.stderr.write(printer.mask(chunk)),
    });
    printer.flush();
    if (steps.summary.trim()) process.stderr.write(`\n${printer.mask(summaryAsText(steps.summary))}\n`);
    process.stdout.write(`${JSON.stringify(Object.fromEntries(Object.entries(steps.outputs).map(([name, value]) => [name, asJson(value)])), null, 2)}\n`);
    return steps.exitCode;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Runs one command line and resolves with the exit code; 2 for a usage error or a crash. */
export function run(argv: readonly string[]): Promise<number> {
  return main(argv).catch((error: Error) => {
    console.error(`fleet: ${error.message}`);
    return 2;
  });
}
