import type { BinaryCacheStore } from '../../src/cache/store.js';

/**
 * Checks that `store` dates an object by when it was written (the wave gate checks host clocks
 * against that date), and that a missing one is undefined.
 */
export async function expectObjectsDatedWhenWritten(store: BinaryCacheStore): Promise<void> {
  // Stores date to the second, from the kernel's coarse clock (a file's mtime), which may lag
  // Date.now() by a tick: a write just after a second boundary can carry the second before it.
  const before = Math.floor(Date.now() / 1000) * 1000 - 1000;
  await store.put('fleet/status/dated.json', '{}', 'application/json');
  const object = await store.getWithDate('fleet/status/dated.json');
  expect(object?.body.toString()).toBe('{}');
  expect(object?.modifiedAt?.getTime()).toBeGreaterThanOrEqual(before);
  expect(object?.modifiedAt?.getTime()).toBeLessThanOrEqual(Date.now());
  expect(await store.getWithDate('fleet/status/absent.json')).toBeUndefined();
}
