/**
 * Runs fleet's push pipeline in a process of its own, so the benchmark measures its wall time
 * and peak RSS the way action-build would see them: `tsx bench/push-child.ts CACHE_URL PATH…`.
 */
import { parseCompression } from '../src/cache/compress.js';
import { openStore } from '../src/cache/open-store.js';
import { pushToCache } from '../src/cache/push.js';
import { parseSigningKey } from '../src/cache/signing.js';
import { Nix } from '../src/nix/index.js';
import { memoryLog } from '../src/util/log.js';

const [cacheUrl, ...roots] = process.argv.slice(2);
const started = performance.now();
const log = memoryLog();
const nix = new Nix({ log });
const infos = await nix.pathInfo(roots, { recursive: true });
const store = openStore(cacheUrl as string, { log });
const result = await pushToCache({
  paths: infos,
  store,
  signingKey: parseSigningKey(process.env.BENCH_SIGNING_KEY as string),
  compression: parseCompression(process.env.BENCH_COMPRESSION ?? 'zstd'),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 32),
  log,
});
await store.close();
const ms = performance.now() - started;
process.stdout.write(
  JSON.stringify({ ms, pushed: result.totals.pushed, skipped: result.totals.skipped, failed: result.totals.failed + result.totals.blocked, maxRssBytes: process.resourceUsage().maxRSS * 1024 }),
);
