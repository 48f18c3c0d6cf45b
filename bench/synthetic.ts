import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { NIX32_ALPHABET } from '../src/nix/hash.js';
import { spawnProcess } from '../src/util/exec.js';

/** A store path the benchmark invents: its content, references and name. */
export interface SyntheticPath {
  path: string;
  size: number;
  references: string[];
  /** Deterministic per path so the NAR can be regenerated. */
  seed: Buffer;
}

const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const padding = (n: number) => Buffer.alloc((8 - (n % 8)) % 8);
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u64(b.length), b, padding(b.length)]);
};

export function randomStorePath(name: string): string {
  const bytes = randomBytes(32);
  let hash = '';
  for (let i = 0; i < 32; i++) hash += NIX32_ALPHABET[(bytes[i] as number) % 32];
  return `/nix/store/${hash}-${name}`;
}

/** Pseudo-random bytes (AES-CTR over zeros): fast, incompressible like a compressed binary. */
function* contentChunks(seed: Buffer, size: number, chunk = 1 << 20): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', seed.subarray(0, 16), Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  for (let left = size; left > 0; left -= chunk) yield cipher.update(left >= chunk ? zeros : zeros.subarray(0, left));
}

/** The NAR of a single regular file holding the path's content. */
function* narOf(p: SyntheticPath): Generator<Buffer> {
  yield Buffer.concat([str('nix-archive-1'), str('('), str('type'), str('regular'), str('contents'), u64(p.size)]);
  yield* contentChunks(p.seed, p.size);
  yield Buffer.concat([padding(p.size), str(')')]);
}

/** `nix-store --export` framing around the NARs, in dependency order. */
function* exportStream(paths: readonly SyntheticPath[]): Generator<Buffer> {
  for (const p of paths) {
    yield u64(1);
    yield* narOf(p);
    yield Buffer.concat([u64(0x4558494e), str(p.path), u64(p.references.length), ...p.references.map(str), str(''), u64(0)]);
  }
  yield u64(0);
}

/**
 * Adds synthetic paths to the store with one `nix-store --import`: thousands of paths in a
 * second, where a derivation per path would take minutes to build.
 */
export async function importSynthetic(paths: readonly SyntheticPath[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawnProcess('nix-store', ['--import'], { env });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.resume();
  const done = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nix-store --import failed (${code}): ${stderr}`)))),
  );
  Readable.from(exportStream(paths)).pipe(child.stdin);
  await done;
}

/** `count` small paths (a few KiB each, a dependency chain every 10) under one root. */
export function smallClosure(count: number, tag: string): { root: string; paths: SyntheticPath[] } {
  const paths: SyntheticPath[] = [];
  for (let i = 0; i < count - 1; i++) {
    const references = i % 10 === 0 || paths.length === 0 ? [] : [(paths[paths.length - 1] as SyntheticPath).path];
    paths.push({ path: randomStorePath(`bench-${tag}-${i}`), size: 512 + ((i * 7919) % 8192), references, seed: randomBytes(16) });
  }
  const root = { path: randomStorePath(`bench-${tag}-root`), size: 128, references: paths.map((p) => p.path), seed: randomBytes(16) };
  paths.push(root);
  return { root: root.path, paths };
}

/** One path per size (bytes), each a single large file. */
export function largePaths(sizes: readonly number[], tag: string): SyntheticPath[] {
  return sizes.map((size, i) => ({ path: randomStorePath(`bench-${tag}-large-${i}`), size, references: [], seed: randomBytes(16) }));
}
