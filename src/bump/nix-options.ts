/**
 * `nix-options` lines (`max-jobs 4`, `accept-flake-config true`) as `--option NAME VALUE` pairs.
 * Throws a message naming the bad line.
 */
export function parseNixOptions(lines: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const line of lines) {
    const match = /^([A-Za-z][\w-]*)\s+(.+)$/.exec(line.trim());
    if (!match) throw new Error(`"${line}" is not a "name value" pair`);
    const name = match[1] as string;
    if (/^(access-tokens|netrc-file|secret-key-files)$/.test(name)) {
      // These would put credentials on every nix command line.
      throw new Error(`"${name}" must not be given on the command line; set it in nix.conf or NIX_CONFIG instead`);
    }
    options[name] = (match[2] as string).trim();
  }
  return options;
}
