import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/**
 * The scripts fleet runs on hosts live as real files in host/ (linted with shellcheck). Code that
 * sends one as a single text (over ssh, in an SSM document) gets it here, with the shared library
 * inlined where the script sources it. Each file is read through a literal `new URL(…)` so that ncc
 * copies it beside the bundle.
 */

/** A line that sources a file relative to the script, marked to be inlined when the script is shipped. */
const INLINE = /^\. "\$\(dirname "\$0"\)\/([^"]+)" # fleet:inline$/;

const LIBRARIES: Readonly<Record<string, () => string>> = {
  'lib/system.sh': () => readFileSync(new URL('../../host/lib/system.sh', import.meta.url), 'utf8'),
};

/**
 * Replaces every `. "$(dirname "$0")/REL" # fleet:inline` line of `script` (a file at `scriptPath`
 * inside host/) by the file it names, read with `read(pathInsideHost)`.
 */
export function inlineSources(script: string, scriptPath: string, read: (pathInsideHost: string) => string): string {
  const out: string[] = [];
  for (const line of script.split('\n')) {
    const match = INLINE.exec(line);
    if (!match) {
      out.push(line);
      continue;
    }
    // The directive that points shellcheck at the file means nothing once the file is inlined.
    if (/^# shellcheck source=/.test(out.at(-1) ?? '')) out.pop();
    const target = posix.normalize(posix.join(posix.dirname(scriptPath), match[1] as string));
    const body = read(target).replace(/^# shellcheck shell=sh\n/, '').replace(/\n$/, '');
    out.push(`# --- ${target} (inlined) ---`, body, `# --- end of ${target} ---`);
  }
  return out.join('\n');
}

function readLibrary(pathInsideHost: string): string {
  const read = LIBRARIES[pathInsideHost];
  if (!read) throw new Error(`host script library ${pathInsideHost} is not known to src/host-scripts`);
  return read();
}

export function shipped(scriptPath: string, read: () => string): () => string {
  let text: string | undefined;
  return () => (text ??= inlineSources(read(), scriptPath, readLibrary));
}

/** host/ssh/fleet-helper.sh: the SSH deploy helper and the upgrade-wave probe. */
export const sshHelperScript = shipped('ssh/fleet-helper.sh', () => readFileSync(new URL('../../host/ssh/fleet-helper.sh', import.meta.url), 'utf8'));
