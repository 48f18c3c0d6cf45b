import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { nix32Encode } from '../nix/hash.js';
import { hashMismatch, sizeMismatch } from './nar-mismatch.js';
import type { NarJobAnswer, NarJobMessage } from './nar-job.js';

/**
 * Worker threads that turn small store paths into compressed NARs: serialize, check NarHash and
 * NarSize, compress with zstd (or not at all), hash the result (nar-job.ts). Thousands of small
 * paths make the main thread the bottleneck of a push; in a worker the same work runs with
 * synchronous fs calls (a third of the cost of async ones, and blocking nothing but the worker)
 * and leaves the main thread to uploads and signing.
 */

/** The worker's bundle, which scripts/build.mjs writes beside every dist/index.js that needs it. */
export const NAR_WORKER_BUNDLE = 'nar-worker.js';

/** How to start a worker: its module and the Node options it needs. */
export interface NarWorkerEntry {
  url: URL;
  execArgv?: string[];
}

/**
 * Finds the worker next to the running code. In a bundle that is dist/nar-worker.js beside
 * dist/index.js; run from the sources (jest, tsx) it is nar-worker.ts beside this file, which
 * Node loads with tsx's loader, the thread then running real TypeScript rather than any
 * transform the parent thread uses (jest's does not reach worker threads).
 */
export function locateNarWorker(here: string = import.meta.url): NarWorkerEntry {
  const bundled = new URL(NAR_WORKER_BUNDLE, here);
  if (existsSync(fileURLToPath(bundled))) return { url: bundled };
  const source = new URL('nar-worker.ts', here);
  if (here.endsWith('.ts') && existsSync(fileURLToPath(source))) return { url: source, execArgv: ['--import', tsxLoader(here)] };
  throw new NarWorkersUnavailable(`there is no ${NAR_WORKER_BUNDLE} beside ${fileURLToPath(here)} (scripts/build.mjs writes it)`);
}

function tsxLoader(here: string): string {
  // `node --import tsx/esm`: ESM only, which is all the worker needs, and quicker to start than `tsx`.
  return pathToFileURL(createRequire(here).resolve('tsx/esm')).href;
}

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

/** The pool cannot take the job (no worker could start, or one died): do it in-process instead. */
export class NarWorkersUnavailable extends Error {
  override name = 'NarWorkersUnavailable';
}

/** What a pool did, for the push's log: NARs its threads prepared, jobs it sent back. */
export interface NarWorkerStats {
  threads: number;
  prepared: number;
  refused: number;
  /** Why the workers could not start or stopped, when they did. */
  why?: string;
}

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
  private prepared = 0;
  private refused = 0;
  private why: string | undefined;

  /** `entry` is where the worker's module is; by default found beside the running code. */
  constructor(size: number = defaultNarWorkers(), entry: () => NarWorkerEntry = locateNarWorker) {
    try {
      const found = entry();
      for (let i = 0; i < size; i++) this.lanes.push(this.spawn(found));
    } catch (error) {
      this.why = `the NAR workers could not start: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private spawn({ url, execArgv }: NarWorkerEntry): Lane {
    const worker = new Worker(url, { ...(execArgv ? { execArgv } : {}), stdout: false, stderr: false });
    // The pool must never keep the process alive on its own.
    worker.unref();
    const lane: Lane = { worker, pending: new Map(), dead: false };
    worker.on('message', (answer: NarJobAnswer) => this.settle(lane, answer));
    const die = (why: string): void => {
      if (lane.dead) return;
      lane.dead = true;
      if (!this.closed) this.why ??= why;
      for (const p of lane.pending.values()) this.refuse(p.reject, why);
      lane.pending.clear();
    };
    worker.on('error', (error) => die(`a NAR worker failed: ${error.message}`));
    worker.on('exit', (code) => die(`a NAR worker exited with code ${code}`));
    return lane;
  }

  private refuse(reject: (error: Error) => void, why: string): void {
    this.refused++;
    reject(new NarWorkersUnavailable(why));
  }

  private settle(lane: Lane, answer: NarJobAnswer): void {
    const pending = lane.pending.get(answer.id);
    if (!pending) return;
    lane.pending.delete(answer.id);
    const { job } = pending;
    if (answer.ok) {
      this.prepared++;
      const file = Buffer.from(answer.file.buffer, answer.file.byteOffset, answer.file.byteLength);
      pending.resolve({ file, fileHash: `sha256:${nix32Encode(answer.fileHash)}` });
    } else if (answer.kind === 'size') {
      pending.reject(sizeMismatch(job.path, answer.actualSize, job.expectedSize, answer.atLeast));
    } else if (answer.kind === 'hash') {
      pending.reject(hashMismatch(job.path, answer.actualHash, job.expectedHash));
    } else {
      pending.reject(Object.assign(new Error(answer.message), answer.code ? { code: answer.code } : {}));
    }
  }

  /** Serializes, checks and compresses one small path's NAR on the least busy worker. */
  prepare(job: NarJob): Promise<PreparedNar> {
    const live = this.lanes.filter((l) => !l.dead);
    return new Promise((resolve, reject) => {
      if (this.closed || live.length === 0) return this.refuse(reject, this.closed ? 'the NAR worker pool is closed' : (this.why ?? 'no NAR worker is running'));
      const lane = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = this.nextId++;
      lane.pending.set(id, { job, resolve, reject });
      const message: NarJobMessage = { id, path: job.path, hash: job.expectedHash, size: job.expectedSize, method: job.method, level: job.level };
      lane.worker.postMessage(message);
    });
  }

  get stats(): NarWorkerStats {
    return { threads: this.lanes.length, prepared: this.prepared, refused: this.refused, ...(this.why ? { why: this.why } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
