import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nix32Encode } from '../nix/hash.js';
import { hashMismatch, sizeMismatch } from './nar-mismatch.js';

/**
 * Worker threads that turn small store paths into compressed NARs: serialize, check NarHash and
 * NarSize, compress with zstd (or not at all), hash the result. Thousands of small paths make
 * the main thread the bottleneck of a push; in a worker the same work runs with synchronous fs
 * calls (a third of the cost of async ones, and blocking nothing but the worker) and leaves the
 * main thread to uploads and signing.
 *
 * The worker's serializer is a second implementation of the NAR format (nar.ts is the first):
 * any difference shows up as a NarHash mismatch, failing the path, never as a wrong cache.
 * The source is a plain JavaScript string, run with `eval`, so the bundle needs no extra file
 * and no transpiler or coverage tool can rewrite it.
 */
const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const zlib = require('node:zlib');

const PADDING = Buffer.alloc(8);
function header(n) {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function frame(bytes) {
  const out = Buffer.alloc(8 + bytes.length + ((8 - (bytes.length % 8)) % 8));
  out.writeBigUInt64LE(BigInt(bytes.length));
  bytes.copy(out, 8);
  return out;
}
const tok = (s) => frame(Buffer.from(s, 'utf8'));
const T = {
  magic: tok('nix-archive-1'),
  open: tok('('),
  close: tok(')'),
  regular: Buffer.concat([tok('type'), tok('regular')]),
  executable: Buffer.concat([tok('executable'), tok('')]),
  contents: tok('contents'),
  directory: Buffer.concat([tok('type'), tok('directory')]),
  symlink: Buffer.concat([tok('type'), tok('symlink'), tok('target')]),
  entryName: Buffer.concat([tok('entry'), tok('('), tok('name')]),
  node: tok('node'),
};
const SLASH = Buffer.from('/');

class TooBig extends Error {}

function dump(path, st, out) {
  out.push(T.open);
  if (st.isFile()) {
    out.push(T.regular);
    if (st.mode & 0o100) out.push(T.executable);
    out.push(T.contents);
    const size = st.size;
    out.push(header(size));
    if (out.size + size > out.limit) throw new TooBig();
    if (size > 0) {
      const data = Buffer.allocUnsafe(size);
      const fd = fs.openSync(path, 'r');
      try {
        for (let done = 0; done < size; ) {
          const n = fs.readSync(fd, data, done, size - done, done);
          if (n === 0) throw new Error(path.toString() + ' shrank while it was being read');
          done += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      out.push(data);
      const pad = (8 - (size % 8)) % 8;
      if (pad) out.push(PADDING.subarray(0, pad));
    }
  } else if (st.isDirectory()) {
    out.push(T.directory);
    const entries = fs.readdirSync(path, { encoding: 'buffer', withFileTypes: true }).sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      out.push(T.entryName);
      out.push(frame(entry.name));
      out.push(T.node);
      const child = Buffer.concat([path, SLASH, entry.name]);
      dump(child, entry.isDirectory() || entry.isSymbolicLink() ? entry : fs.lstatSync(child), out);
      out.push(T.close);
    }
  } else if (st.isSymbolicLink()) {
    out.push(T.symlink);
    out.push(frame(fs.readlinkSync(path, { encoding: 'buffer' })));
  } else {
    throw new Error(path.toString() + ' has a file type a NAR cannot hold (only regular files, directories and symlinks)');
  }
  out.push(T.close);
  if (out.size > out.limit) throw new TooBig();
}

function prepare(job) {
  const parts = [];
  const out = { size: 0, limit: job.size, push(b) { parts.push(b); this.size += b.length; } };
  out.push(T.magic);
  const root = Buffer.from(job.path, 'utf8');
  try {
    dump(root, fs.lstatSync(root), out);
  } catch (error) {
    if (error instanceof TooBig) return { ok: false, kind: 'size', actualSize: out.size, atLeast: true };
    throw error;
  }
  if (out.size !== job.size) return { ok: false, kind: 'size', actualSize: out.size, atLeast: false };
  const nar = Buffer.concat(parts, out.size);
  const narHash = crypto.createHash('sha256').update(nar).digest();
  if (!narHash.equals(Buffer.from(job.hash))) return { ok: false, kind: 'hash', actualHash: narHash };
  const file = job.method === 'zstd'
    ? zlib.zstdCompressSync(nar, { params: { [zlib.constants.ZSTD_c_compressionLevel]: job.level }, pledgedSrcSize: nar.length })
    : nar;
  return { ok: true, file, fileHash: crypto.createHash('sha256').update(file).digest() };
}

parentPort.on('message', (job) => {
  let reply;
  try {
    reply = prepare(job);
  } catch (error) {
    reply = { ok: false, kind: 'error', message: error && error.message ? error.message : String(error), code: error && error.code };
  }
  reply.id = job.id;
  parentPort.postMessage(reply);
});
`;

export interface NarJob {
  path: string;
  /** sha256 digest Nix recorded. */
  expectedHash: Buffer;
  expectedSize: number;
  method: 'zstd' | 'none';
  level: number;
}

export interface PreparedNar {
  file: Buffer;
  /** `sha256:<nix32>` of `file`. */
  fileHash: string;
}

/** The pool cannot take the job (a worker died): do it in-process instead. */
export class NarWorkersUnavailable extends Error {
  override name = 'NarWorkersUnavailable';
}

type Reply =
  | { id: number; ok: true; file: Uint8Array; fileHash: Uint8Array }
  | { id: number; ok: false; kind: 'size'; actualSize: number; atLeast: boolean }
  | { id: number; ok: false; kind: 'hash'; actualHash: Uint8Array }
  | { id: number; ok: false; kind: 'error'; message: string; code?: string };

interface Pending {
  job: NarJob;
  resolve: (nar: PreparedNar) => void;
  reject: (error: Error) => void;
}

interface Lane {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: boolean;
}

/** How many workers help by default: the cores the main thread does not need, at most 4. */
export function defaultNarWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class NarWorkerPool {
  private readonly lanes: Lane[] = [];
  private nextId = 0;
  private closed = false;

  constructor(size: number = defaultNarWorkers()) {
    for (let i = 0; i < size; i++) this.lanes.push(this.spawn());
  }

  private spawn(): Lane {
    const worker = new Worker(WORKER_SOURCE, { eval: true, stdout: false, stderr: false });
    // The pool must never keep the process alive on its own.
    worker.unref();
    const lane: Lane = { worker, pending: new Map(), dead: false };
    worker.on('message', (reply: Reply) => this.settle(lane, reply));
    const die = (why: string): void => {
      if (lane.dead) return;
      lane.dead = true;
      for (const p of lane.pending.values()) p.reject(new NarWorkersUnavailable(why));
      lane.pending.clear();
    };
    worker.on('error', (error) => die(`a NAR worker failed: ${error.message}`));
    worker.on('exit', (code) => die(`a NAR worker exited with code ${code}`));
    return lane;
  }

  private settle(lane: Lane, reply: Reply): void {
    const pending = lane.pending.get(reply.id);
    if (!pending) return;
    lane.pending.delete(reply.id);
    const { job } = pending;
    if (reply.ok) {
      const file = Buffer.from(reply.file.buffer, reply.file.byteOffset, reply.file.byteLength);
      pending.resolve({ file, fileHash: `sha256:${nix32Encode(reply.fileHash)}` });
    } else if (reply.kind === 'size') {
      pending.reject(sizeMismatch(job.path, reply.actualSize, job.expectedSize, reply.atLeast));
    } else if (reply.kind === 'hash') {
      pending.reject(hashMismatch(job.path, reply.actualHash, job.expectedHash));
    } else {
      pending.reject(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
    }
  }

  /** Serializes, checks and compresses one small path's NAR on the least busy worker. */
  prepare(job: NarJob): Promise<PreparedNar> {
    const live = this.lanes.filter((l) => !l.dead);
    if (this.closed || live.length === 0) return Promise.reject(new NarWorkersUnavailable('no NAR worker is running'));
    const lane = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      lane.pending.set(id, { job, resolve, reject });
      lane.worker.postMessage({ id, path: job.path, hash: job.expectedHash, size: job.expectedSize, method: job.method, level: job.level });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
