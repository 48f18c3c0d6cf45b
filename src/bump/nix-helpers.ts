import type { Nix, NixSettings } from '../nix/index.js';
import { NixCommandError } from '../nix/index.js';
import { describeCommand, exec } from '../util/exec.js';
import type { ClosureEntry } from './closure-diff.js';

// Small helpers src/nix does not have (yet): `nix flake check`, and a closure with sizes.

/**
 * `nix flake check REF`, run with the same settings as the suite's `Nix` (options, NIX_CONFIG,
 * store). Resolves with Nix's error text when the check fails; throws only when nix cannot start.
 */
export async function flakeCheck(settings: NixSettings, ref: string): Promise<{ ok: true } | { ok: false; error: string }> {
  const args = ['--extra-experimental-features', 'nix-command flakes'];
  if (settings.store) args.push('--store', settings.store);
  for (const [name, value] of Object.entries(settings.options ?? {})) args.push('--option', name, value);
  args.push('flake', 'check', '--keep-going', ref);
  const base = { ...(settings.env ?? process.env) };
  const config = [base.NIX_CONFIG, settings.extraConfig].filter((s) => s && s.trim()).join('\n');
  if (config) base.NIX_CONFIG = config;
  const bin = settings.nixBin ?? 'nix';
  settings.log?.debug(`running ${describeCommand(bin, args)}`);
  const result = await exec(bin, args, { env: base, allowFailure: true });
  if (result.code === 0) return { ok: true };
  // With --keep-going each problem is an `error (ignored): …` line before the final summary line.
  const ignored = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('error (ignored): '))
    .map((line) => line.replace(/^error \(ignored\): (error: )?/, 'error: '));
  const summary = new NixCommandError(describeCommand(bin, args), result.code, result.stderr).message;
  return { ok: false, error: ignored.length > 0 ? `${ignored.join('\n')}\n${summary}` : summary };
}

/** Every path in the closure of a store path, with its NAR size. */
export async function closureOf(nix: Nix, storePath: string): Promise<ClosureEntry[]> {
  const infos = await nix.pathInfo([storePath], { recursive: true });
  return infos.map((info) => ({ path: info.path, narSize: info.narSize }));
}
