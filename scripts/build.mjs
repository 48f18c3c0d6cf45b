// Bundles every action-*/src/index.ts (and the cli) into …/dist/index.js with ncc, an action's
// post step, src/post.ts, into …/dist/post/index.js, and beside each bundle every worker thread it
// starts (src/cache/nar-worker.ts → dist/nar-worker.js).
// `node scripts/build.mjs OUTDIR` writes OUTDIR/action-*/dist instead (used by the dist check);
// `--only action-build` builds one action.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const outArg = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--only');
const outRoot = outArg ? resolve(outArg) : root;
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');

/** Worker entry points; a bundle gets one when its code names the worker's file (locateNarWorker). */
const WORKERS = [{ source: join('src', 'cache', 'nar-worker.ts'), file: 'nar-worker.js' }];

const bundle = (entry, out) =>
  execFileSync(process.execPath, [ncc, 'build', join(root, entry), '-o', out, '--quiet', '--no-source-map-register', '--target', 'es2023'], { stdio: 'inherit', cwd: root });

const scratch = mkdtempSync(join(tmpdir(), 'fleet-build-'));
const builtWorkers = new Map();
/** Bundles a worker once, into the scratch directory; it must come out as one file. */
function workerBundle(worker) {
  if (!builtWorkers.has(worker.file)) {
    const out = join(scratch, worker.file);
    bundle(worker.source, out);
    const files = readdirSync(out).filter((f) => f !== 'package.json');
    if (files.join() !== 'index.js') throw new Error(`${worker.source} bundles to ${files.join(', ')}, not one index.js`);
    builtWorkers.set(worker.file, join(out, 'index.js'));
  }
  return builtWorkers.get(worker.file);
}

try {
  const entries = readdirSync(root).filter((d) => (d.startsWith('action-') || d === 'cli') && existsSync(join(root, d, 'src', 'index.ts')) && (!only || d === only));
  for (const action of entries.sort()) {
    const out = join(outRoot, action, 'dist');
    // ncc leaves files of an earlier build behind (chunks renumber when modules change).
    rmSync(out, { recursive: true, force: true });
    bundle(join(action, 'src', 'index.ts'), out);
    console.log(`built ${action}/dist/index.js`);
    if (existsSync(join(root, action, 'src', 'post.ts'))) {
      bundle(join(action, 'src', 'post.ts'), join(out, 'post'));
      console.log(`built ${action}/dist/post/index.js`);
    }
    const code = readFileSync(join(out, 'index.js'), 'utf8');
    for (const worker of WORKERS.filter((w) => code.includes(`'${w.file}'`) || code.includes(`"${w.file}"`))) {
      copyFileSync(workerBundle(worker), join(out, worker.file));
      console.log(`built ${action}/dist/${worker.file}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
