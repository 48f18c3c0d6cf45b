import { Transform, type Readable } from 'node:stream';
import { mapConcurrent } from '../util/async.js';
import { CommandError, describeCommand, exec, spawnProcess, type ExecResult } from '../util/exec.js';
import { consoleLog, type Log } from '../util/log.js';
import { attributeBuildErrors, flakeCheckProblems, parseBuildJson, type BuildJsonEntry, type BuildOutcome } from './build-report.js';
import { hintFor, NixCommandError, NixNotFoundError, parseErrorBlocks } from './errors.js';
import { parseFlakeMetadata, type FlakeMetadata } from './flake-lock.js';
import { DEFAULT_STORE_DIR, parsePathInfoJson, totalNarSize, type PathInfo } from './path-info.js';
import { configShowCommand, parseNixVersion, supportsFlakeUpdateInputs, supportsPathInfoJsonFormat, type NixVersion } from './version.js';

export interface NixSettings {
  log?: Log;
  /** `--option NAME VALUE` given to every command (e.g. `{ 'max-jobs': '4' }`). */
  options?: Record<string, string>;
  /** nix.conf lines appended to NIX_CONFIG (e.g. `substituters =`). Secrets (access-tokens) belong here, never in options. */
  extraConfig?: string;
  /** Base environment; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** `--store URL` for every command (a chroot store directory, `daemon`, …). */
  store?: string;
  /** Program names or paths; default `nix` and `nix-store` from PATH. */
  nixBin?: string;
  nixStoreBin?: string;
  /** Concurrency of per-installable fallbacks (evaluations after a failed build). */
  concurrency?: number;
}

export interface BuildOptions {
  /** Build everything that can be built even when some fail (default true). */
  keepGoing?: boolean;
  /** Stream full build logs (`-L`) instead of Nix's short progress lines. */
  printBuildLogs?: boolean;
  signal?: AbortSignal;
  /**
   * Called, while the build still runs, once for each installable whose outputs are all in the
   * store (built, substituted, or there before): its whole closure is then valid too. Polled
   * every `readyPollMs` (default 2 s). Errors it throws are the caller's to handle.
   */
  onReady?: (index: number, outputs: Record<string, string>) => void;
  readyPollMs?: number;
}

export interface PathInfoOptions {
  /** The whole closure of the given paths (default false). */
  recursive?: boolean;
  /** Fill `closureSize` (default false). */
  closureSize?: boolean;
  /** Leave invalid paths out instead of failing (default false). */
  allowInvalid?: boolean;
}

export interface EvalOptions {
  /** A Nix function applied to the value first (`--apply`), e.g. `builtins.attrNames`. */
  apply?: string;
  impure?: boolean;
}

export interface CopyOptions {
  /** Destination store URL (`ssh-ng://root@host`, `file:///dir`, a chroot store directory). */
  to?: string;
  /** Source store URL, for copies from a cache into the local (or `store`) store. */
  from?: string;
  /** Let the destination substitute from its own caches (`--substitute-on-destination`). */
  substituteOnDestination?: boolean;
  /** Skip signature checks at the destination (`--no-check-sigs`). */
  noCheckSigs?: boolean;
  /** Extra environment for this copy (e.g. NIX_SSHOPTS). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

const FLAKE_FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

/**
 * The `nix` CLI. Every nix process the suite starts goes through here, with the same options,
 * configuration and log.
 */
export class Nix {
  readonly log: Log;
  private readonly settings: NixSettings;
  private versionPromise: Promise<NixVersion> | undefined;

  constructor(settings: NixSettings = {}) {
    this.settings = settings;
    this.log = settings.log ?? consoleLog;
  }

  /** The same Nix with more `--option`s (given ones win), sharing nothing mutable. */
  withOptions(options: Record<string, string>): Nix {
    return new Nix({ ...this.settings, options: { ...this.settings.options, ...options } });
  }

  /** The version, detected once per instance. */
  version(): Promise<NixVersion> {
    this.versionPromise ??= (async () => {
      const version = parseNixVersion((await this.run(this.nixBin, ['--version'], {})).stdout);
      this.log.debug(`using ${version.text}`);
      return version;
    })();
    return this.versionPromise;
  }

  /** `nix eval --json INSTALLABLE`, parsed. */
  async eval<T = unknown>(installable: string, options: EvalOptions = {}): Promise<T> {
    const args = ['eval', '--json', ...(options.impure ? ['--impure'] : []), ...(options.apply ? ['--apply', options.apply] : []), installable];
    const { stdout } = await this.nix(args);
    return JSON.parse(stdout) as T;
  }

  /**
   * What this machine builds: its `system`, its `extra-platforms`, and the `builders` value as
   * configured (machine lines, or `@/etc/nix/machines`).
   */
  async platforms(): Promise<{ system: string; extraPlatforms: string[]; builders: string }> {
    const { stdout } = await this.nix([...configShowCommand(await this.version()), '--json']);
    const config = JSON.parse(stdout) as Record<string, { value?: unknown } | undefined>;
    const value = (name: string) => config[name]?.value;
    const system = value('system');
    if (typeof system !== 'string') throw new Error('nix config show printed no system');
    const extra = value('extra-platforms');
    const builders = value('builders');
    return { system, extraPlatforms: Array.isArray(extra) ? extra.filter((p): p is string => typeof p === 'string') : [], builders: typeof builders === 'string' ? builders : '' };
  }

  /** `nix eval --raw INSTALLABLE`. */
  async evalRaw(installable: string, options: EvalOptions = {}): Promise<string> {
    const args = ['eval', '--raw', ...(options.impure ? ['--impure'] : []), ...(options.apply ? ['--apply', options.apply] : []), installable];
    return (await this.nix(args)).stdout;
  }

  /** The attribute names under `flake#attrPath`, e.g. the hosts of `nixosConfigurations`. */
  evalAttrNames(flake: string, attrPath: string): Promise<string[]> {
    return this.eval<string[]>(`${flake}#${attrPath}`, { apply: 'builtins.attrNames' });
  }

  /**
   * Builds every installable in one `nix build --keep-going` and reports each one: its outputs,
   * or why it failed (evaluation error, or the builder failures in its closure with their log
   * tails). Never throws for a failed build; throws only when Nix cannot run at all.
   *
   * Nix 2.8 prints no JSON when any build fails, and does not print `--json` results in
   * installable order, so each installable's derivation is first read from a dry run (cheap:
   * flake evaluations are cached) and outcomes are matched by derivation path.
   */
  async build(installables: readonly string[], options: BuildOptions = {}): Promise<BuildOutcome[]> {
    if (installables.length === 0) return [];
    const plans = await this.planBuild(installables, options.signal);
    const evaluable = [...new Set(installables.filter((_, i) => 'entry' in (plans[i] as Plan)))];
    const args = ['build', '--json', '--no-link'];
    if (options.keepGoing ?? true) args.push('--keep-going');
    if (options.printBuildLogs) args.push('--print-build-logs');
    const building =
      evaluable.length > 0
        ? this.nix([...args, ...evaluable], { allowFailure: true, signal: options.signal, streamTo: 'info' })
        : Promise.resolve<ExecResult>({ code: 0, stdout: '[]', stderr: '' });
    const watching = options.onReady ? this.watchReady(plans, building, options.onReady, options.readyPollMs ?? 2000) : Promise.resolve();
    const [result] = await Promise.all([building, watching]);
    const built = new Map<string, Record<string, string>>();
    for (const entry of (result.code === 0 ? tryParseBuildJson(result.stdout) : undefined) ?? []) {
      built.set(entry.drvPath ?? Object.values(entry.outputs)[0] ?? '', entry.outputs);
    }
    const planned = plans.flatMap((p) => ('entry' in p ? Object.values(p.entry.outputs) : []));
    const valid = await this.validPaths(planned);
    return mapConcurrent(installables, this.concurrency, async (installable, i): Promise<BuildOutcome> => {
      const plan = plans[i] as Plan;
      if ('error' in plan) return { installable, ok: false, stage: 'eval', error: plan.error, failedDrvs: [] };
      const { entry } = plan;
      const key = entry.drvPath ?? Object.values(entry.outputs)[0] ?? '';
      const outputs = { ...entry.outputs, ...built.get(key) };
      const paths = Object.values(outputs);
      if (paths.length > 0 && paths.every((p) => valid.has(p) || built.has(key))) return successOf(installable, { ...entry, outputs });
      const closure = new Set(entry.drvPath ? await this.requisites([entry.drvPath]) : []);
      const { error, failedDrvs } = attributeBuildErrors(result.stderr, closure);
      const failure: BuildOutcome = {
        installable,
        ok: false,
        stage: 'build',
        error: error || `${installable} was not built (nix build exited with code ${result.code}; see the build log above)`,
        failedDrvs,
      };
      if (entry.drvPath) failure.drvPath = entry.drvPath;
      return failure;
    });
  }

  /** Until `build` settles, tells `onReady` of each planned installable whose outputs became valid. */
  private async watchReady(plans: readonly Plan[], build: Promise<unknown>, onReady: NonNullable<BuildOptions['onReady']>, pollMs: number): Promise<void> {
    const pending = new Map<number, Record<string, string>>();
    plans.forEach((plan, i) => {
      if ('entry' in plan && Object.keys(plan.entry.outputs).length > 0) pending.set(i, plan.entry.outputs);
    });
    let settled = false;
    void build.finally(() => (settled = true));
    while (pending.size > 0 && !settled) {
      const valid = await this.validPaths([...pending.values()].flatMap((outputs) => Object.values(outputs))).catch(() => new Set<string>());
      for (const [i, outputs] of pending) {
        if (!Object.values(outputs).every((p) => valid.has(p))) continue;
        pending.delete(i);
        onReady(i, outputs);
      }
      if (pending.size > 0 && !settled) await Promise.race([build, new Promise((resolve) => setTimeout(resolve, pollMs))]);
    }
  }

  /** What each installable would build (`nix build --dry-run --json`), or its evaluation error. */
  private async planBuild(installables: readonly string[], signal?: AbortSignal): Promise<Plan[]> {
    const dryRun = (list: readonly string[], extra: string[] = []) =>
      this.nix(['build', '--dry-run', '--json', '--no-link', ...extra, ...list], { allowFailure: true, signal });
    const all = await dryRun(installables);
    const entries = all.code === 0 ? tryParseBuildJson(all.stdout) : undefined;
    if (entries && entries.length === installables.length) return entries.map((entry) => ({ entry }));
    // Some installable fails to evaluate: find which, one dry run each. Without the evaluation
    // cache, which (in Nix 2.8) remembers a failure only as "is not a derivation".
    return mapConcurrent(installables, this.concurrency, async (installable): Promise<Plan> => {
      const one = await dryRun([installable], ['--option', 'eval-cache', 'false']);
      const entry = one.code === 0 ? tryParseBuildJson(one.stdout)?.[0] : undefined;
      if (entry) return { entry };
      const blocks = parseErrorBlocks(one.stderr);
      return { error: blocks.join('\n') || one.stderr.trim() || `nix could not evaluate ${installable}` };
    });
  }

  /**
   * `nix path-info --json` normalized across Nix versions. Invalid paths make it throw unless
   * `allowInvalid`, in which case they are left out.
   */
  async pathInfo(paths: readonly string[], options: PathInfoOptions = {}): Promise<PathInfo[]> {
    if (options.allowInvalid && options.recursive) {
      // A recursive query of an invalid path fails outright in every version: leave them out first.
      const valid = await this.validPaths(paths);
      paths = paths.filter((p) => valid.has(p));
    }
    if (paths.length === 0) return [];
    const version = await this.version();
    const args = ['path-info', '--json'];
    if (supportsPathInfoJsonFormat(version)) args.push('--json-format', '1');
    if (options.recursive) args.push('--recursive');
    if (options.closureSize) args.push('--closure-size');
    // A .drv path means the derivation itself, not its outputs.
    if (paths.some((p) => p.endsWith('.drv'))) args.push('--derivation');
    const result = await this.nix([...args, ...paths], { allowFailure: true });
    const parsed = result.code === 0 || result.stdout.trim() ? safeParsePathInfo(result.stdout) : undefined;
    if (!parsed) throw this.commandError(['path-info', ...paths], result);
    if (parsed.invalid.length > 0 && !options.allowInvalid) {
      throw new NixCommandError(
        describeCommand(this.nixBin, ['path-info', ...paths]),
        result.code,
        '',
        `not in the store: ${parsed.invalid.join(', ')} (build or copy them first)`,
      );
    }
    if (result.code !== 0 && !options.allowInvalid) throw this.commandError(['path-info', ...paths], result);
    return parsed.infos;
  }

  /** The paths among `paths` that are valid in the store. */
  async validPaths(paths: readonly string[]): Promise<Set<string>> {
    if (paths.length === 0) return new Set();
    const { stdout } = await this.nixStore(['--check-validity', '--print-invalid', ...paths]);
    const invalid = new Set(stdout.split('\n').filter(Boolean));
    return new Set(paths.filter((p) => !invalid.has(p)));
  }

  /** Every store path in the closure of `paths` (for a .drv: every derivation and source it needs). */
  async requisites(paths: readonly string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const { stdout } = await this.nixStore(['--query', '--requisites', ...paths]);
    return stdout.split('\n').filter(Boolean);
  }

  /**
   * What building the derivations used that is in the store: every output of every derivation in
   * their closure (compilers, sources, build tools), without the .drv files themselves. Outputs
   * never built or substituted here (substitutes Nix did not need) are left out.
   */
  async buildTimeClosure(drvPaths: readonly string[]): Promise<string[]> {
    if (drvPaths.length === 0) return [];
    const { stdout } = await this.nixStore(['--query', '--requisites', '--include-outputs', ...drvPaths]);
    const outputs = stdout.split('\n').filter((p) => p !== '' && !p.endsWith('.drv'));
    const valid = await this.validPaths(outputs);
    return outputs.filter((p) => valid.has(p));
  }

  /** Total NAR size of the union of the closures of `paths`. */
  async closureSize(paths: readonly string[]): Promise<number> {
    return totalNarSize(await this.pathInfo(paths, { recursive: true }));
  }

  /**
   * The NAR serialisation of a store path (`nix-store --dump`), streamed. The stream fails if the
   * dump fails; destroying it stops the process.
   */
  dump(path: string): Readable {
    const args = [...this.storeArgs(), '--dump', path];
    const command = describeCommand(this.nixStoreBin, args);
    const child = spawnProcess(this.nixStoreBin, args, { env: this.env() });
    child.stdin.end();
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const exited = new Promise<Error | undefined>((resolve) => {
      child.on('error', (err: NodeJS.ErrnoException) =>
        resolve(err.code === 'ENOENT' ? new NixNotFoundError(this.nixStoreBin) : new CommandError(command, null, '', `could not start: ${err.message}`)),
      );
      child.on('close', (code, signal) => {
        if (code === 0) return resolve(undefined);
        const text = Buffer.concat(stderr).toString('utf8');
        resolve(new NixCommandError(command, code, text, signal ? `killed by ${signal}` : hintFor(text)));
      });
    });
    const out = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => callback(null, chunk),
      // The stream ends only once nix-store has exited cleanly, so a truncated dump is an error, never a short NAR.
      flush: (callback) => void exited.then((error) => callback(error)),
    });
    child.stdout.pipe(out);
    void exited.then((error) => {
      if (error && !out.destroyed) out.destroy(error);
    });
    out.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return out;
  }

  /** `nix flake metadata --json`, without writing a lock file. */
  async flakeMetadata(flake: string): Promise<FlakeMetadata> {
    const { stdout } = await this.nix(['flake', 'metadata', '--json', '--no-write-lock-file', flake]);
    return parseFlakeMetadata(stdout);
  }

  /**
   * Updates flake.lock: all inputs, or only the named ones (`nix flake update A B` from 2.19,
   * `nix flake lock --update-input A --update-input B` before).
   */
  async updateLock(flake: string, inputs: readonly string[] = []): Promise<void> {
    const version = await this.version();
    if (inputs.length === 0) {
      await this.nix(supportsFlakeUpdateInputs(version) ? ['flake', 'update', '--flake', flake] : ['flake', 'update', flake], { streamTo: 'info' });
    } else if (supportsFlakeUpdateInputs(version)) {
      await this.nix(['flake', 'update', '--flake', flake, ...inputs], { streamTo: 'info' });
    } else {
      await this.nix(['flake', 'lock', flake, ...inputs.flatMap((i) => ['--update-input', i])], { streamTo: 'info' });
    }
  }

  /** The build log of a derivation (`nix log`), or undefined when Nix kept none. */
  async logOf(drvPath: string): Promise<string | undefined> {
    const result = await this.nix(['log', drvPath], { allowFailure: true });
    return result.code === 0 ? result.stdout : undefined;
  }

  /**
   * `nix flake check --keep-going REF`. Resolves with Nix's error text when the check fails;
   * throws only when nix cannot start.
   */
  async flakeCheck(ref: string): Promise<{ ok: true } | { ok: false; error: string }> {
    const args = ['flake', 'check', '--keep-going', ref];
    const result = await this.nix(args, { allowFailure: true });
    if (result.code === 0) return { ok: true };
    const problems = flakeCheckProblems(result.stderr);
    const summary = `${describeCommand(this.nixBin, args)} failed (exit code ${result.code})`;
    return { ok: false, error: problems.length > 0 ? `${problems.join('\n')}\n${summary}` : this.commandError(args, result).message };
  }

  /**
   * Signs `paths` and their closures in the local store with a secret key, read by Nix from its
   * stdin so the key never touches disk or argv (`nix store sign --key-file /dev/stdin`).
   */
  async sign(paths: readonly string[], secretKey: string): Promise<void> {
    if (paths.length === 0) return;
    // Node's stdin for a child is a socketpair, which /dev/stdin cannot open (ENXIO); `cat`
    // hands the key on through a real pipe. The script is constant; arguments stay an array.
    const args = [...FLAKE_FEATURES, ...this.storeArgs(), 'store', 'sign', '--key-file', '/dev/stdin', '--recursive', ...paths];
    const result = await this.run('sh', ['-c', 'cat | "$0" "$@"', this.nixBin, ...args], { input: secretKey, allowFailure: true });
    if (result.code !== 0) throw new NixCommandError(describeCommand(this.nixBin, args), result.code, result.stderr, hintFor(result.stderr));
  }

  /** `nix copy` of `paths` (with their closures) between stores. */
  async copy(paths: readonly string[], options: CopyOptions): Promise<void> {
    if (paths.length === 0) return;
    const args = ['copy'];
    if (options.from) args.push('--from', options.from);
    if (options.to) args.push('--to', options.to);
    if (options.substituteOnDestination) args.push('--substitute-on-destination');
    if (options.noCheckSigs) args.push('--no-check-sigs');
    await this.nix([...args, ...paths], { signal: options.signal, extraEnv: options.env, streamTo: 'info' });
  }

  // ── process plumbing ──

  private get nixBin(): string {
    return this.settings.nixBin ?? 'nix';
  }

  private get nixStoreBin(): string {
    return this.settings.nixStoreBin ?? 'nix-store';
  }

  private get concurrency(): number {
    return Math.max(1, this.settings.concurrency ?? 2);
  }

  private storeArgs(): string[] {
    const args = this.settings.store ? ['--store', this.settings.store] : [];
    for (const [name, value] of Object.entries(this.settings.options ?? {})) args.push('--option', name, value);
    return args;
  }

  private env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const base = { ...(this.settings.env ?? process.env), ...extra };
    const config = [base.NIX_CONFIG, this.settings.extraConfig].filter((s) => s && s.trim()).join('\n');
    if (config) base.NIX_CONFIG = config;
    return base;
  }

  private nix(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.run(this.nixBin, [...FLAKE_FEATURES, ...this.storeArgs(), ...args], options);
  }

  private nixStore(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    return this.run(this.nixStoreBin, [...this.storeArgs(), ...args], options);
  }

  private commandError(args: string[], result: ExecResult): NixCommandError {
    return new NixCommandError(describeCommand(this.nixBin, args), result.code, result.stderr, hintFor(result.stderr));
  }

  private async run(cmd: string, args: string[], options: RunOptions): Promise<ExecResult> {
    const command = describeCommand(cmd, args);
    this.log.debug(`running ${command}`);
    const stream = options.streamTo;
    // Nix's output carries the flake's `builtins.trace` and the builders' logs: text fleet did not write.
    const forward = (batch: string[]) => {
      if (stream === 'info') this.log.quoted(batch.join('\n'));
      else for (const line of batch) this.log.debug(line);
    };
    const lines = stream ? lineSplitter(forward) : undefined;
    let result: ExecResult;
    try {
      result = await exec(cmd, args, {
        env: this.env(options.extraEnv),
        allowFailure: true,
        signal: options.signal,
        onStderr: lines?.push,
        ...(options.input !== undefined ? { input: options.input } : {}),
      });
    } catch (error) {
      if (error instanceof CommandError && error.code === null && /ENOENT/.test(error.message)) throw new NixNotFoundError(cmd);
      throw error;
    } finally {
      lines?.flush();
    }
    if (result.code !== 0 && !options.allowFailure) {
      throw new NixCommandError(command, result.code, result.stderr, hintFor(result.stderr));
    }
    return result;
  }
}

interface RunOptions {
  allowFailure?: boolean;
  /** Written to the command's stdin (secrets go here, never into argv). */
  input?: string;
  signal?: AbortSignal;
  extraEnv?: NodeJS.ProcessEnv;
  /** Forward stderr lines to the log as they come (build progress). */
  streamTo?: 'info' | 'debug';
}

type Plan = { entry: BuildJsonEntry } | { error: string };

function successOf(installable: string, entry: BuildJsonEntry): BuildOutcome {
  const outcome: BuildOutcome = { installable, ok: true, outputs: entry.outputs };
  if (entry.drvPath) outcome.drvPath = entry.drvPath;
  return outcome;
}

function tryParseBuildJson(stdout: string): BuildJsonEntry[] | undefined {
  if (!stdout.trim()) return undefined;
  try {
    return parseBuildJson(stdout.trim().split('\n').at(-1) as string, DEFAULT_STORE_DIR);
  } catch {
    return undefined;
  }
}

function safeParsePathInfo(stdout: string): ReturnType<typeof parsePathInfoJson> | undefined {
  try {
    return parsePathInfoJson(stdout);
  } catch {
    return undefined;
  }
}

/** Hands on the complete, non-blank lines of each chunk together (one quoted block per chunk, not per line). */
function lineSplitter(emit: (lines: string[]) => void): { push: (chunk: string) => void; flush: () => void } {
  let pending = '';
  return {
    push: (chunk) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      const lines = parts.filter((line) => line.trim());
      if (lines.length > 0) emit(lines);
    },
    flush: () => {
      if (pending.trim()) emit([pending]);
      pending = '';
    },
  };
}

/** Detects the installed Nix version (`nix --version`). */
export async function detectNixVersion(settings: NixSettings = {}): Promise<NixVersion> {
  return new Nix(settings).version();
}
