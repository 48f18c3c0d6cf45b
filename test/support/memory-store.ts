import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BinaryCacheStore, DatedObject, StoreObject } from '../../src/cache/store.js';

/** Hooks a test uses to inject faults or watch the order of operations. */
export interface StoreHooks {
  /** Runs before each operation; throw to make it fail, await to slow it down. */
  before?: (op: 'has' | 'get' | 'put' | 'putStream' | 'list' | 'delete', key: string) => Promise<void> | void;
}

/**
 * A binary cache held in a Map, for unit tests. Streams are read whole before the object
 * becomes visible, like a real store; `log` records every committed write in order.
 */
export class MemoryStore implements BinaryCacheStore {
  readonly url = 'memory://test';
  /** What each key holds; `modifiedAt` is the write time (tests may set it to date an object). */
  readonly objects = new Map<string, { body: Buffer; contentType: string; modifiedAt: Date }>();
  /** `put <key>` for each committed write, in commit order. */
  readonly log: string[] = [];
  /** Each deleted key, in order. */
  readonly deletions: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly hooks: StoreHooks = {}) {}

  private async op<T>(name: Parameters<NonNullable<StoreHooks['before']>>[0], key: string, body: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.hooks.before?.(name, key);
      return await body();
    } finally {
      this.inFlight--;
    }
  }

  has(key: string): Promise<boolean> {
    return this.op('has', key, async () => this.objects.has(key));
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.op('get', key, async () => this.objects.get(key)?.body);
  }

  getWithDate(key: string): Promise<DatedObject | undefined> {
    return this.op('get', key, async () => {
      const object = this.objects.get(key);
      return object && { body: object.body, modifiedAt: object.modifiedAt };
    });
  }

  put(key: string, body: Buffer | string, contentType: string): Promise<void> {
    return this.op('put', key, async () => {
      this.objects.set(key, { body: Buffer.from(body), contentType, modifiedAt: new Date() });
      this.log.push(`put ${key}`);
    });
  }

  putStream(key: string, body: Readable, contentType: string): Promise<{ bytes: number }> {
    return this.op('putStream', key, async () => {
      const parts: Buffer[] = [];
      for await (const chunk of body) parts.push(chunk as Buffer);
      const data = Buffer.concat(parts);
      this.objects.set(key, { body: data, contentType, modifiedAt: new Date() });
      this.log.push(`put ${key}`);
      return { bytes: data.length };
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.op('list', prefix, async () => [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort());
  }

  listObjects(prefix: string): Promise<StoreObject[]> {
    return this.op('list', prefix, async () =>
      [...this.objects.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, o]) => ({ key, size: o.body.length, modifiedAt: o.modifiedAt })),
    );
  }

  delete(key: string): Promise<void> {
    return this.op('delete', key, async () => {
      if (this.objects.delete(key)) this.deletions.push(key);
    });
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.delete(key);
  }

  text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }
}

/**
 * A `file://` binary cache in a directory, for integration tests that let real Nix read what
 * was written. Objects are written to a temporary name and renamed, so none is seen half-written.
 */
export class DirectoryStore implements BinaryCacheStore {
  readonly url: string;
  private counter = 0;

  constructor(readonly root: string) {
    this.url = `file://${root}`;
  }

  private file(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`bad key ${key}`);
    return join(this.root, key);
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.file(key))).isFile();
    } catch {
      return false;
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.getWithDate(key))?.body;
  }

  async getWithDate(key: string): Promise<DatedObject | undefined> {
    try {
      const [body, stats] = await Promise.all([readFile(this.file(key)), stat(this.file(key))]);
      return { body, modifiedAt: stats.mtime };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const target = this.file(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}-${this.counter++}`;
    await writeFile(temp, body);
    await rename(temp, target);
  }

  async putStream(key: string, body: Readable): Promise<{ bytes: number }> {
    const target = this.file(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}-${this.counter++}`;
    let bytes = 0;
    body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    try {
      await pipeline(body, createWriteStream(temp));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await rename(temp, target);
    return { bytes };
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else out.push(relative(this.root, full));
      }
    };
    await walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async listObjects(prefix: string): Promise<StoreObject[]> {
    return Promise.all((await this.list(prefix)).map(async (key) => {
      const info = await stat(this.file(key));
      return { key, size: info.size, modifiedAt: info.mtime };
    }));
  }

  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true });
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.delete(key);
  }
}
