import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Keep in step with NIX_CACHE_HOMES in test/support/nix.ts.
export default async function removeNixCacheHomes() {
  await rm(join(tmpdir(), 'fleet-test-nix-cache'), { recursive: true, force: true });
}
