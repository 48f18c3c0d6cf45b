import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Dirent, type Stats } from 'node:fs';
import { byName, kindOf, NarWriter, needsLstat, SLASH, unsupportedType } from './nar-format.js';

/**
 * The NAR of a small path, read with synchronous fs calls: a third of the cost of async ones
 * for thousands of tiny files. It blocks its thread, so it runs in the NAR worker threads
 * (nar-worker.ts), never on the main thread of a push.
 */

/** The NAR grew past the limit; `size` is how far it got (a lower bound of its real size). */
export class NarTooBig extends Error {
  override name = 'NarTooBig';
  constructor(readonly size: number) {
    super(`the NAR is more than ${size} bytes`);
  }
}

/** The whole NAR of `path` in memory; throws NarTooBig as soon as it would pass `limit` bytes. */
export function narSync(path: string | Buffer, limit = Number.POSITIVE_INFINITY): Buffer {
  const root = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  const out = new NarWriter();
  out.begin();
  dumpNode(root, lstatSync(root), out, limit);
  return out.take() ?? Buffer.alloc(0);
}

function dumpNode(path: Buffer, st: Stats | Dirent<Buffer>, out: NarWriter, limit: number): void {
  switch (kindOf(st)) {
    case 'file': {
      const { size, mode } = st as Stats;
      out.file((mode & 0o100) !== 0, size);
      // Before reading: a file far bigger than recorded must not be read into memory.
      if (out.size + size > limit) throw new NarTooBig(out.size + size);
      if (size > 0) out.raw(readWhole(path, size));
      out.fileEnd(size);
      break;
    }
    case 'directory':
      out.directory();
      for (const entry of readdirSync(path, { encoding: 'buffer', withFileTypes: true }).sort(byName)) {
        out.entry(entry.name);
        const child = Buffer.concat([path, SLASH, entry.name]);
        dumpNode(child, needsLstat(entry) ? lstatSync(child) : entry, out, limit);
        out.entryEnd();
      }
      out.end();
      break;
    case 'symlink':
      out.symlink(readlinkSync(path, { encoding: 'buffer' }));
      break;
    case 'other':
      throw unsupportedType(path);
  }
  if (out.size > limit) throw new NarTooBig(out.size);
}

function readWhole(path: Buffer, size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  const fd = openSync(path, 'r');
  try {
    for (let done = 0; done < size; ) {
      const n = readSync(fd, data, done, size - done, done);
      if (n === 0) throw new Error(`${path.toString()} shrank while it was being read`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return data;
}
