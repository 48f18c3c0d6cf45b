import { randomBytes } from 'node:crypto';
import { constants, createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { mapConcurrent } from '../../util/async.js';
import { errorMessage } from '../../util/errors.js';
import type { Log } from '../../util/log.js';
import type { BinaryCacheStore, DatedObject, StoreObject } from '../store.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { StoreError } from './store-error.js';
import { countedBody, type StreamBody } from './stream-body.js';

export interface FileStoreOptions {
  log?: Log;
}

/** Temp files sit beside their target so the final `rename` stays on one file system. */
const TEMP_NAME = /^\..+\.tmp-[0-9a-f]{12}$/;

/** A temp file this old was left by a writer that died (killed mid-upload): no live write takes this long to touch it. */
const STALE_TEMP_MS = 60 * 60_000;

/**
 * A binary cache in a local directory (`file:///srv/cache`), the layout `nix copy --to file://`
 * writes. Every write goes to a temp file in the target's directory and is renamed into place,
 * so a reader sees either nothing or the whole object. No fsync: a crash may lose recent
 * objects, never expose half of one, and the next push rewrites what is missing.
 */
export class FileBinaryCacheStore implements BinaryCacheStore {
  readonly url: string;
  /** Directories already swept of stale temp files by this store. */
  private readonly swept = new Set<string>();

  constructor(
    readonly directory: string,
    private readonly options: FileStoreOptions = {},
  ) {
    this.url = pathToFileURL(directory).href;
  }

  async has(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      return (await stat(path)).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw this.failure('check', key, error);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.getWithDate(key))?.body;
  }

  async getWithDate(key: string): Promise<DatedObject | undefined> {
    const path = this.pathOf(key);
    try {
      return await readObjectFile(path);
    } catch (error) {
      if (isMissing(error) || hasCode(error, 'EISDIR')) return undefined;
      throw this.failure('read', key, error);
    }
  }

  async put(key: string, body: Buffer | string, _contentType: string): Promise<void> {
    const target = this.pathOf(key);
    const temp = await this.prepare(key, target);
    try {
      await writeFile(temp, body, { flag: 'wx' });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.failure('write', key, error);
    }
  }

  async putStream(key: string, body: StreamBody, _contentType: string): Promise<{ bytes: number }> {
    const target = this.pathOf(key);
    // Take hold of the stream before any await, so none of its data or errors go unseen.
    const counted = countedBody(body);
    let temp: string;
    try {
      temp = await this.prepare(key, target);
    } catch (error) {
      counted.stop();
      throw error;
    }
    try {
      await pipeline(counted.stream, createWriteStream(temp, { flags: 'wx' }));
      await rename(temp, target);
      return { bytes: counted.stream.bytes };
    } catch (error) {
      counted.stop();
      await rm(temp, { force: true });
      const sourceError = counted.sourceError();
      if (sourceError !== undefined) {
        throw new StoreError(`Could not write ${join(this.directory, key)}: the data being written failed: ${errorMessage(sourceError)}`, { url: this.url, key, cause: sourceError });
      }
      throw this.failure('write', key, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix, this.url);
    const slash = prefix.lastIndexOf('/');
    const keys: string[] = [];
    await this.walk(slash < 0 ? '' : prefix.slice(0, slash), prefix.slice(slash + 1), keys);
    return keys.sort();
  }

  async listObjects(prefix: string): Promise<StoreObject[]> {
    const keys = await this.list(prefix);
    const objects = await mapConcurrent(keys, 32, async (key): Promise<StoreObject | undefined> => {
      try {
        const info = await stat(this.pathOf(key));
        return { key, size: info.size, modifiedAt: info.mtime };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw this.failure('list', key, error);
      }
    });
    return objects.filter((o): o is StoreObject => o !== undefined);
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw this.failure('delete', key, error);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    await mapConcurrent(keys, 32, (key) => this.delete(key));
  }

  /** Nothing to release; here so every store opened by openStore can be closed alike. */
  async close(): Promise<void> {}

  private async walk(dirKey: string, namePrefix: string, into: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirKey ? join(this.directory, dirKey) : this.directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw this.failure('list', dirKey || '.', error);
    }
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix) || TEMP_NAME.test(entry.name)) continue;
      const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await this.walk(key, '', into);
      else if (entry.isFile()) into.push(key);
    }
  }

  private async prepare(key: string, target: string): Promise<string> {
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      throw this.failure('write', key, error);
    }
    await this.sweepStaleTemps(dirname(target));
    return join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  }

  /** Removes, once per directory, the temp files of writers that died; a sweep that fails costs nothing but a debug line. */
  private async sweepStaleTemps(directory: string): Promise<void> {
    if (this.swept.has(directory)) return;
    this.swept.add(directory);
    const now = Date.now();
    try {
      for (const name of (await readdir(directory)).filter((n) => TEMP_NAME.test(n))) {
        const path = join(directory, name);
        const { mtimeMs } = await stat(path);
        if (now - mtimeMs > STALE_TEMP_MS) {
          await rm(path, { force: true });
          this.options.log?.info(`file store: removed ${path}, left by an interrupted write`);
        }
      }
    } catch (error) {
      this.options.log?.debug(`file store: could not sweep ${directory}: ${errorMessage(error)}`);
    }
  }

  private pathOf(key: string): string {
    assertValidKey(key, this.url);
    return join(this.directory, ...key.split('/'));
  }

  private failure(action: string, key: string, error: unknown): Error {
    if (error instanceof StoreError) return error;
    const path = join(this.directory, key);
    const hint = hasCode(error, 'EACCES') || hasCode(error, 'EPERM') || hasCode(error, 'EROFS')
      ? `Make ${this.directory} writable by this user`
      : hasCode(error, 'ENOSPC') || hasCode(error, 'EDQUOT')
        ? `Free space on the file system holding ${this.directory}`
        : hasCode(error, 'ENOTDIR')
          ? `A file stands where a directory is needed under ${this.directory}; remove it`
          : undefined;
    this.options.log?.debug(`file store: ${action} ${path} failed: ${errorMessage(error)}`);
    return new StoreError(`Could not ${action} ${path}: ${errorMessage(error)}`, { url: pathToFileURL(path).href, key, hint, cause: error });
  }
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function isMissing(error: unknown): boolean {
  return hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR');
}

/**
 * Reads a regular file whole with its mtime. Opened non-blocking and checked first, so a pipe or
 * a device planted at a key fails at once instead of blocking the reader for ever.
 */
async function readObjectFile(path: string): Promise<DatedObject> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: stats.isDirectory() ? 'EISDIR' : 'ENOTREG' });
    return { body: await handle.readFile(), modifiedAt: stats.mtime };
  } finally {
    await handle.close();
  }
}
