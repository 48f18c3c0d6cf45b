/**
 * Quick measurement: pushing ~1,000 small store paths to a file:// cache with fleet's pipeline
 * versus `nix copy --to 'file://…?compression=zstd&secret-key=…'`. Not a test; the bench harness
 * will wire it up. Run as root with Nix on PATH:
 *
 *   node --experimental-transform-types bench/push-small.ts [paths=1000] [rounds=3]
 *
 * (with a loader that maps the `.js` import specifiers to `.ts` files).
 */
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pushToCache } from '../src/cache/push.js';
import { parseSigningKey } from '../src/cache/signing.js';
import { parsePathInfoJson } from '../src/nix/path-info.js';
import { exec } from '../src/util/exec.js';
import { memoryLog } from '../src/util/log.js';
import { DirectoryStore } from '../test/support/memory-store.js';

const count = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 3);
const env = { ...process.env, NIX_CONFIG: 'experimental-features = nix-command flakes\nsandbox = false\nsubstituters =' };

const work = await mkdtemp(join(tmpdir(), 'fleet-bench-push-'));
env.XDG_CACHE_HOME = join(work, 'xdg');
try {
  // Half the paths are small directories (a few files, an executable, a symlink) added in one
  // nix-store --add; the other half a chain of small files with references, made by one eval.
  const half = Math.floor(count / 2);
  const dirs: string[] = [];
  const nonce = `${Date.now()}`;
  for (let i = 0; i < half; i++) {
    const d = join(work, 'src', `pkg-${i}`);
    await mkdir(join(d, 'bin'), { recursive: true });
    await mkdir(join(d, 'share', 'doc'), { recursive: true });
    await writeFile(join(d, 'bin', 'tool'), `#!/bin/sh\necho ${nonce} ${i}\n`);
    await chmod(join(d, 'bin', 'tool'), 0o755);
    await writeFile(join(d, 'share', 'doc', 'README'), `package ${i}\n`.repeat(1 + (i % 50)));
    await writeFile(join(d, 'share', 'data.json'), JSON.stringify({ i, nonce, filler: 'x'.repeat(i % 4000) }));
    await symlink('bin/tool', join(d, 'tool'));
    dirs.push(d);
  }
  const added = (await exec('nix-store', ['--add', ...dirs], { env })).stdout.trim().split('\n');
  const expr = `let step = acc: i: builtins.toFile "chain-${nonce}-\${toString i}" "link \${toString i} -> \${acc}\\n\${builtins.concatStringsSep "" (builtins.genList (_: "filler ") (i - (i / 64) * 64))}"; in builtins.foldl' step "${added[0]}" (builtins.genList (x: x) ${count - half})`;
  const chainTop = (await exec('nix', ['eval', '--raw', '--impure', '--expr', expr], { env })).stdout.trim();
  const top = await writeFile(join(work, 'roots'), [...added, chainTop].join('\n'));
  void top;
  const { infos } = parsePathInfoJson((await exec('nix', ['path-info', '--json', '--recursive', chainTop, ...added], { env })).stdout);
  const narBytes = infos.reduce((s, i) => s + i.narSize, 0);
  console.log(`${infos.length} paths, ${(narBytes / 1024 / 1024).toFixed(1)} MiB of NARs`);

  const secret = (await exec('nix', ['key', 'generate-secret', '--key-name', 'bench-1'], { env })).stdout;
  const key = parseSigningKey(secret);
  // nix copy reads its key from a file; only this benchmark's throwaway key goes to disk.
  const keyFile = join(work, 'bench.sec');
  await writeFile(keyFile, secret, { mode: 0o600 });

  const time = async (what: string, run: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    console.log(`${what.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms`);
    return ms;
  };

  const results: Record<string, number[]> = {};
  const record = (name: string, ms: number) => (results[name] ??= []).push(ms);
  for (let round = 0; round < rounds; round++) {
    const ours = join(work, `ours-${round}`);
    const theirs = join(work, `nix-${round}`);
    record('fleet push (fresh cache)', await time('fleet push (fresh cache)', () => pushToCache({ paths: infos, store: new DirectoryStore(ours), signingKey: key, log: memoryLog() })));
    record('fleet push (all present)', await time('fleet push (all present)', () => pushToCache({ paths: infos, store: new DirectoryStore(ours), signingKey: key, log: memoryLog() })));
    const roots = [...added, chainTop];
    record('nix copy (fresh cache)', await time('nix copy (fresh cache)', () => exec('nix', ['copy', '--to', `file://${theirs}?compression=zstd&secret-key=${keyFile}`, ...roots], { env })));
    await rm(env.XDG_CACHE_HOME, { recursive: true, force: true });
    record('nix copy (all present, no narinfo cache)', await time('nix copy (all present, no narinfo cache)', () => exec('nix', ['copy', '--to', `file://${theirs}?compression=zstd&secret-key=${keyFile}`, ...roots], { env })));
  }
  console.log('\nmedian of', rounds);
  for (const [name, list] of Object.entries(results)) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(`${name.padEnd(44)} ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0).padStart(7)} ms`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
