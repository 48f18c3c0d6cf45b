import { openStore, type CacheUrl, type OpenedStore, type OpenStoreOptions } from '../cache/open-store.js';
import type { Compression } from '../cache/compress.js';
import type { PublicKey, SigningKey } from '../cache/signing.js';
import { mergePushResults, pushToCache, type PushResult } from '../cache/push.js';
import type { Nix, PathInfo } from '../nix/index.js';
import type { Log } from '../util/log.js';
import { readCondemned, writeBuildRecord, type BuildRecord } from '../gc/records.js';
import { errorMessage } from '../util/errors.js';
import { closuresByRoot } from './closure.js';

/** Where and how to push: the cache, the signing key, and the credentials, asked for at the first push. */
export interface PushRequest {
  cache: CacheUrl;
  signingKey?: SigningKey;
  /** The key's text, kept only for SSH stores: Nix signs the local paths before `nix copy`. */
  signingKeyText?: string;
  compression: Compression;
  concurrency: number;
  skipUpstream: readonly PublicKey[];
  /** Check the entries already in the cache (NAR present, signed by signingKey) and repair broken ones. */
  verifyCache: boolean;
  /**
   * Called at the first push: during the build on trusted events, only after every build for a
   * pull request (decidePush), so no credential exists while builds of
   * possibly untrusted code run.
   */
  storeOptions: () => Promise<OpenStoreOptions>;
}

const LANDED = new Set(['pushed', 'repaired', 'skipped', 'upstream']);

/**
 * Pushes closures to one cache, one closure after another, so that pushes can start while the
 * build goes on: every narinfo of one push is written (after its references') before the next
 * push starts, and what an earlier push landed is neither checked nor counted again. The store
 * is opened, and its credentials asked for, at the first push that has something to send.
 */
export class ClosurePusher {
  private store: OpenedStore | undefined;
  private condemned: Set<string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly landed = new Set<string>();
  private readonly results: PushResult[] = [];
  private readonly infos = new Map<string, PathInfo>();

  constructor(
    private readonly request: PushRequest,
    private readonly nix: Nix,
    private readonly log: Log,
  ) {}

  /** Queues the closure of `roots`; resolves true once all of it is in the cache, false if some path did not land. */
  push(roots: readonly string[]): Promise<boolean> {
    const run = this.queue.then(() => this.pushNow(roots));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every push merged (each path's last outcome), with the path infos of every closure pushed. */
  async result(): Promise<{ infos: PathInfo[]; push: PushResult }> {
    await this.queue;
    return { infos: [...this.infos.values()], push: mergePushResults(this.results) };
  }

  /** Whether the whole closure of `root`, as pushed so far, is in the cache. */
  closureLanded(root: string): boolean {
    const closure = closuresByRoot([root], [...this.infos.values()]).get(root) ?? new Set<string>();
    return [...closure].every((path) => this.landed.has(path));
  }

  /** Records the build (its store paths, for the cache's garbage collection) in the cache, if anything was pushed. */
  async recordBuild(record: BuildRecord): Promise<string | undefined> {
    await this.queue;
    if (!this.store) return undefined;
    return writeBuildRecord(this.store, record);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.store?.close();
  }

  /** What the last garbage collection condemned: pushed again rather than relied on. */
  private async readCondemned(store: OpenedStore): Promise<Set<string>> {
    try {
      const condemned = new Set((await readCondemned(store)).since.keys());
      if (condemned.size > 0) this.log.info(`${condemned.size} objects of ${store.url} are condemned by its garbage collection: closures that need them push them again`);
      return condemned;
    } catch (error) {
      this.log.warning(`could not read what the cache's garbage collection condemned (${errorMessage(error)}); pushing as if nothing were`);
      return new Set();
    }
  }

  private async pushNow(roots: readonly string[]): Promise<boolean> {
    if (roots.length === 0) return true;
    const closure = await this.nix.pathInfo(roots, { recursive: true });
    for (const info of closure) this.infos.set(info.path, info);
    const fresh = closure.filter((info) => !this.landed.has(info.path));
    if (fresh.length > 0) {
      this.store ??= openStore(this.request.cache, { ...(await this.request.storeOptions()), log: this.log });
      this.condemned ??= await this.readCondemned(this.store);
      const result = await pushToCache({
        paths: fresh,
        store: this.store,
        ...(this.request.signingKey ? { signingKey: this.request.signingKey } : {}),
        compression: this.request.compression,
        concurrency: this.request.concurrency,
        skipUpstreamKeys: this.request.skipUpstream,
        verifyExisting: this.request.verifyCache,
        available: this.landed,
        condemned: this.condemned,
        log: this.log,
      });
      this.results.push(result);
      for (const path of result.paths) if (LANDED.has(path.status)) this.landed.add(path.path);
    }
    return closure.every((info) => this.landed.has(info.path));
  }
}
