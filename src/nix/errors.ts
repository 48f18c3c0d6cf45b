import { UserError } from '../util/errors.js';

/** "an aarch64-linux", "an x86_64-linux", "a riscv64-linux": the system as said aloud. */
export const aSystem = (system: string): string => `${/^[aeiox]/.test(system) ? 'an' : 'a'} ${system}`;

/** Nix is not on PATH. */
export class NixNotFoundError extends UserError {
  constructor(command: string) {
    super(
      `${command} was not found: install Nix (apt-get install nix-bin, or uses: cachix/install-nix-action in a workflow) ` +
        'and make sure it is on PATH',
    );
    this.name = 'NixNotFoundError';
  }
}

/** A nix command failed; the message carries Nix's own error lines and what to check. */
export class NixCommandError extends UserError {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
    hint?: string,
  ) {
    const errors = errorLines(stderr);
    super(`${command} failed${code === null ? '' : ` (exit code ${code})`}${errors ? `:\n${errors}` : ''}${hint ? `\n${hint}` : ''}`);
    this.name = 'NixCommandError';
  }
}

/** The `error:` blocks of Nix's stderr (without build progress), or its tail when there are none. */
function errorLines(stderr: string): string {
  const blocks = parseErrorBlocks(stderr);
  const text = blocks.length ? blocks.join('\n') : stderr.trim().split('\n').slice(-20).join('\n');
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Splits Nix's stderr into error blocks: a line starting with `error:` and the indented lines
 * after it (log tail, hints, traces).
 */
export function parseErrorBlocks(stderr: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const raw of stderr.replace(ANSI, '').split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (/^error:/.test(line)) {
      if (current) blocks.push(current.join('\n'));
      current = [line];
    } else if (current && (line === '' || /^\s/.test(line))) {
      current.push(line);
    } else if (current) {
      blocks.push(current.join('\n'));
      current = undefined;
    }
  }
  if (current) blocks.push(current.join('\n'));
  return blocks.map((b) => b.replace(/\n+$/, ''));
}

/** What Nix's error text suggests the user should do, when it is a known situation. */
/**
 * Nix's refusal to build a derivation of another system: Nix 2.8 says "a 'aarch64-linux' with
 * features {} is required to build '…', but I am a 'x86_64-linux'…"; current Nix says "Cannot build
 * '…'. Reason: platform mismatch, Required system: '…', Current system: '…'".
 */
export function foreignSystem(stderr: string): { wanted: string; have: string } | undefined {
  const old = /a '([\w-]+)' with features \{[^}]*\} is required to build '[^']+', but I am a '([\w-]+)'/.exec(stderr);
  if (old) return { wanted: old[1] as string, have: old[2] as string };
  const current = /Reason: platform mismatch\s+Required system: '([\w-]+)'\s+Current system: '([\w-]+)'/.exec(stderr);
  return current ? { wanted: current[1] as string, have: current[2] as string } : undefined;
}

export function hintFor(stderr: string): string | undefined {
  if (/experimental Nix feature '(nix-command|flakes)' is disabled/.test(stderr)) {
    return "Enable flakes: add 'experimental-features = nix-command flakes' to nix.conf or NIX_CONFIG.";
  }
  if (/cannot connect to (socket|daemon)|Connection refused.*daemon/i.test(stderr)) {
    return 'Start the Nix daemon (systemctl start nix-daemon) or run as a user who may open the store directly.';
  }
  if (/unable to download|Could not resolve host|Couldn't resolve host/.test(stderr)) {
    return 'A download failed: check the network, or add the path to a substituter you can reach.';
  }
  if (/No space left on device/.test(stderr)) return 'The disk is full: free space or run nix-collect-garbage.';
  if (/does not provide attribute/.test(stderr)) return 'Check the attribute name (nix flake show lists what the flake provides).';
  if (/path '.*' does not contain a 'flake.nix'/.test(stderr)) {
    return 'Point at the directory holding flake.nix (inside a git repository, untracked files are invisible to git+file: flake refs; use path: or git add).';
  }
  const foreign = foreignSystem(stderr);
  if (foreign) {
    const { wanted, have } = foreign;
    return `It is built for ${wanted} and this machine builds ${have}: give the host \`system: ${wanted}\` in the inventory so the ${wanted} build job builds it, or give builders with ${aSystem(wanted)} machine.`;
  }
  if (/is not valid|don't know how to build these paths/.test(stderr)) return 'The path is not in the store: build or copy it first.';
  return undefined;
}
