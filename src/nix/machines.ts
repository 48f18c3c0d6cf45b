import { NIX_SYSTEM } from '../fleet/schema.js';

/** One remote build machine, as Nix's `builders` setting (or /etc/nix/machines) lists it. */
export interface BuildMachine {
  /** `ssh://builder@arm1.example.org`, `ssh-ng://…`. */
  uri: string;
  /** The systems it builds; empty when the line leaves it to Nix (`-`): the local system. */
  systems: string[];
  /** The line without its comment, as Nix reads it. */
  line: string;
}

const MACHINE_URI = /^(ssh|ssh-ng):\/\/(?:[A-Za-z_][A-Za-z0-9_.-]*@)?[A-Za-z0-9][A-Za-z0-9._-]*(?::\d{1,5})?$/;

/**
 * Parses machine lines (`URI SYSTEMS KEY MAX-JOBS SPEED FEATURES MANDATORY HOST-KEY`), separated by
 * newlines or `;`, `#` comments allowed. Throws naming the line for anything Nix would misread or
 * that ssh could take as an option (a URI starting with `-`). `@FILE` references are not followed.
 */
export function parseMachines(text: string): BuildMachine[] {
  const machines: BuildMachine[] = [];
  text.split(/[\n;]/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [uri = '', systems = '-'] = line.split(/\s+/);
    const where = `machine ${index + 1} ${JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}…` : line)}`;
    if (uri.startsWith('@')) throw new Error(`${where}: give the machine lines themselves, not a file (${uri})`);
    if (!MACHINE_URI.test(uri)) throw new Error(`${where}: "${uri}" is not an ssh:// or ssh-ng:// builder address (user@host[:port], not starting with "-")`);
    const list = systems === '-' ? [] : systems.split(',');
    const bad = list.find((system) => !NIX_SYSTEM.test(system));
    if (bad !== undefined) throw new Error(`${where}: "${bad}" is not a Nix system such as aarch64-linux`);
    machines.push({ uri, systems: list, line });
  });
  return machines;
}
