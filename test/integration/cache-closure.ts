import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePathInfoJson, type PathInfo } from '../../src/nix/path-info.js';
import { exec } from '../../src/util/exec.js';

/** Helpers the cache integration tests share: a small real closure built offline with real Nix. */

export function nixEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NIX_CONFIG: ['experimental-features = nix-command flakes', 'sandbox = false', 'substituters ='].join('\n'),
    ...extra,
  };
}

export function nix(args: readonly string[], env: NodeJS.ProcessEnv = nixEnv()): Promise<string> {
  return exec('nix', args, { env, timeoutMs: 120_000 }).then((r) => r.stdout);
}

/**
 * A closure with what NARs must get right: executables, relative/absolute/dangling symlinks,
 * nested and empty directories, empty and padded files, names whose byte order differs from
 * locale order, a file of a few MB (streamed in chunks), a store path that is a single file,
 * one that is a symlink, self-references and a dependency chain.
 */
const FLAKE = String.raw`{
  outputs = { self }:
    let
      mk = name: script: builtins.derivation {
        inherit name;
        builder = "/bin/sh";
        args = [ "-c" ("set -e; " + script) ];
        PATH = "/usr/bin:/bin";
        system = "x86_64-linux";
      };
      leaf = mk "fleet-cache-test-leaf" ''
        mkdir -p $out/bin $out/share/empty-dir $out/lib/nested/deeper $out/order
        printf '#!/bin/sh\necho leaf\n' > $out/bin/leaf
        chmod 755 $out/bin/leaf
        : > $out/share/empty-file
        printf x > $out/share/one-byte
        printf 12345678 > $out/share/eight-bytes
        echo hello > $out/lib/nested/deeper/hello.txt
        ln -s ../lib/nested/deeper/hello.txt $out/bin/relative-link
        ln -s /nonexistent/dangling $out/bin/dangling-link
        seq 1 600000 > $out/share/big.txt
        for n in a a.b a-b B b _ Z 0 aa; do echo $n > "$out/order/$n"; done
      '';
      lib = mk "fleet-cache-test-lib" ''
        mkdir -p $out/bin
        ln -s ${"$"}{leaf}/bin/leaf $out/bin/leaf-via-lib
        echo ${"$"}{leaf} > $out/leaf-path
      '';
      app = mk "fleet-cache-test-app" ''
        mkdir -p $out/bin
        printf '#!/bin/sh\ncat %s/leaf-path\n' ${"$"}{lib} > $out/bin/app
        chmod 755 $out/bin/app
        echo $out > $out/self
      '';
      single = mk "fleet-cache-test-single" "echo ${"$"}{app} > $out";
      link = mk "fleet-cache-test-link" "ln -s ${"$"}{single} $out";
      top = mk "fleet-cache-test-top" ''
        mkdir -p $out
        ln -s ${"$"}{app}/bin/app $out/app
        echo ${"$"}{link} > $out/link-path
      '';
    in { packages.x86_64-linux.default = top; };
}
`;

export interface TestClosure {
  top: string;
  /** `nix path-info --json --recursive` of `top`, parsed. */
  infos: PathInfo[];
}

/** Builds the closure in `dir` (a temp dir) and reads its path infos. */
export async function buildTestClosure(dir: string): Promise<TestClosure> {
  await writeFile(join(dir, 'flake.nix'), FLAKE);
  const built = JSON.parse(await nix(['build', '--no-link', '--json', `path:${dir}#default`])) as { outputs: { out: string } }[];
  const top = built[0]?.outputs.out;
  if (!top) throw new Error('nix build printed no output path');
  const { infos } = parsePathInfoJson(await nix(['path-info', '--json', '--recursive', top]));
  return { top, infos };
}
