// Bundles every action-*/src/index.ts (and the cli) into …/dist/index.js with ncc, and an action's
// post step, src/post.ts, into …/dist/post/index.js.
// `node scripts/build.mjs OUTDIR` writes OUTDIR/action-*/dist instead (used by the dist check);
// `--only action-build` builds one action.
import { execFileSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const outArg = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--only');
const outRoot = outArg ? resolve(outArg) : root;
const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
const entries = readdirSync(root).filter((d) => (d.startsWith('action-') || d === 'cli') && existsSync(join(root, d, 'src', 'index.ts')) && (!only || d === only));
for (const action of entries.sort()) {
  const out = join(outRoot, action, 'dist');
  execFileSync(process.execPath, [ncc, 'build', join(root, action, 'src', 'index.ts'), '-o', out, '--quiet', '--no-source-map-register', '--target', 'es2023'], { stdio: 'inherit', cwd: root });
  console.log(`built ${action}/dist/index.js`);
  if (existsSync(join(root, action, 'src', 'post.ts'))) {
    execFileSync(process.execPath, [ncc, 'build', join(root, action, 'src', 'post.ts'), '-o', join(out, 'post'), '--quiet', '--no-source-map-register', '--target', 'es2023'], { stdio: 'inherit', cwd: root });
    console.log(`built ${action}/dist/post/index.js`);
  }
}
