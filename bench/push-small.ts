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
import { FileBinaryCacheStore } from '../src/cache/stores/file.js';
import { HttpBinaryCacheStore } from '../src/cache/stores/http.js';
import { startNginxCache } from '../test/support/servers/nginx.js';

const count = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 3);
const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONFIG: 'experimental-features = nix-command flakes\nsandbox = false\nsubstituters =' };

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
  const { infos } = parsePathInfoJson((await exec('nix', ['path-info', '--json', '--recursive', chainTop, ...added], { env })).stdout);
  const narBytes = infos.reduce((s, i) => s + i.narSize, 0);
  console.log(`${infos.length} paths, ${(narBytes / 1024 / 1024).toFixed(1)} MiB of NARs`);

  const secret = (await exec('nix', ['key', 'generate-secret', '--key-name', 'bench-1'], { env })).stdout;
  const key = parseSigningKey(secret);
  // nix copy reads its key from a file; only this benchmark's throwaway key goes to disk.
  const keyFile = join(work, 'bench.sec');
  await writeFile(keyFile, secret, { mode: 0o600 });

  /** Wall time and CPU time (user + system), ours from process.cpuUsage, Nix's from /usr/bin/time. */
  type Sample = { wall: number; cpu: number };
  const ours = async (run: () => Promise<unknown>): Promise<Sample> => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await run();
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
  const nixCopy = async (args: string[]): Promise<Sample> => {
    const t0 = performance.now();
    const { stderr } = await exec('/usr/bin/time', ['-f', 'CPU %U %S', 'nix', ...args], { env });
    const [, user, sys] = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr) ?? [];
    return { wall: performance.now() - t0, cpu: (Number(user) + Number(sys)) * 1000 };
  };

  const results: Record<string, Sample[]> = {};
  const record = (name: string, sample: Sample): void => {
    (results[name] ??= []).push(sample);
    console.log(`${name.padEnd(44)} ${sample.wall.toFixed(0).padStart(6)} ms wall ${sample.cpu.toFixed(0).padStart(6)} ms cpu`);
  };
  const roots = [...added, chainTop];
  const nginx = await startNginxCache();
  try {
  for (let round = 0; round < rounds; round++) {
    const oursDir = join(work, `ours-${round}`);
    const theirs = join(work, `nix-${round}`);
    const push = () => pushToCache({ paths: infos, store: new FileBinaryCacheStore(oursDir), signingKey: key, log: memoryLog() });
    record('fleet push (fresh cache)', await ours(push));
    record('fleet push (all present)', await ours(push));
    const copy = ['copy', '--to', `file://${theirs}?compression=zstd&secret-key=${keyFile}`, ...roots];
    record('nix copy (fresh cache)', await nixCopy(copy));
    await rm(env.XDG_CACHE_HOME as string, { recursive: true, force: true });
    record('nix copy (all present, no narinfo cache)', await nixCopy(copy));

    const http = new HttpBinaryCacheStore(`${nginx.url}/ours-${round}`);
    const pushHttp = () => pushToCache({ paths: infos, store: http, signingKey: key, log: memoryLog() });
    record('fleet push http (fresh cache)', await ours(pushHttp));
    record('fleet push http (all present)', await ours(pushHttp));
    const copyHttp = ['copy', '--to', `${nginx.url}/nix-${round}?compression=zstd&secret-key=${keyFile}`, ...roots];
    record('nix copy http (fresh cache)', await nixCopy(copyHttp));
    await rm(env.XDG_CACHE_HOME as string, { recursive: true, force: true });
    record('nix copy http (all present, no narinfo cache)', await nixCopy(copyHttp));
  }
  } finally {
    await nginx.stop();
  }
  console.log(`\nbest of ${rounds} (wall, cpu)`);
  for (const [name, list] of Object.entries(results)) {
    const wall = Math.min(...list.map((s) => s.wall));
    const cpu = Math.min(...list.map((s) => s.cpu));
    console.log(`${name.padEnd(44)} ${wall.toFixed(0).padStart(6)} ms wall ${cpu.toFixed(0).padStart(6)} ms cpu`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
