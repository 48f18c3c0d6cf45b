/**
 * ssh hands the remote side one string, which the login shell parses: every argument of a
 * remote command goes through here, so an input can never become shell syntax.
 */

/** One argument in POSIX single quotes (`'` becomes `'\''`); bare when it is plainly safe. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An argument vector as the command string ssh sends. */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty remote command');
  return argv.map(shellQuote).join(' ');
}
