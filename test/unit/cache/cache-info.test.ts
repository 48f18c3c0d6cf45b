import { CACHE_INFO_KEY, ensureCacheInfo, parseCacheInfo, renderCacheInfo } from '../../../src/cache/cache-info.js';
import { MemoryStore } from '../../support/memory-store.js';

describe('nix-cache-info', () => {
  it('renders StoreDir, WantMassQuery and Priority', () => {
    expect(renderCacheInfo({ storeDir: '/nix/store', wantMassQuery: true, priority: 40 })).toBe('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
    expect(renderCacheInfo({ storeDir: '/nix/store' })).toBe('StoreDir: /nix/store\n');
  });

  it('parses what Nix 2.8 writes (StoreDir only) and full files', () => {
    expect(parseCacheInfo('StoreDir: /nix/store\n')).toEqual({ storeDir: '/nix/store' });
    expect(parseCacheInfo('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\nOther: x\n')).toEqual({ storeDir: '/nix/store', wantMassQuery: true, priority: 30 });
  });

  it('refuses a file without StoreDir or with a bad Priority', () => {
    expect(() => parseCacheInfo('<html>Not found</html>', 'https://c/nix-cache-info')).toThrow(/https:\/\/c\/nix-cache-info has no StoreDir/);
    expect(() => parseCacheInfo('StoreDir: /nix/store\nPriority: high\n')).toThrow(/Priority "high" is not a number/);
  });
});

describe('ensureCacheInfo', () => {
  it('creates the file in an empty cache with the defaults', async () => {
    const store = new MemoryStore();
    await expect(ensureCacheInfo(store)).resolves.toEqual({ storeDir: '/nix/store', wantMassQuery: true, priority: 40 });
    expect(store.text(CACHE_INFO_KEY)).toBe('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
    expect(store.objects.get(CACHE_INFO_KEY)?.contentType).toBe('text/x-nix-cache-info');
  });

  it('leaves an existing file for the same store alone', async () => {
    const store = new MemoryStore();
    await store.put(CACHE_INFO_KEY, 'StoreDir: /nix/store\nPriority: 10\n', 'text/plain');
    store.log.length = 0;
    await expect(ensureCacheInfo(store)).resolves.toEqual({ storeDir: '/nix/store', priority: 10 });
    expect(store.log).toEqual([]);
  });

  it('refuses a cache made for another store directory', async () => {
    const store = new MemoryStore();
    await store.put(CACHE_INFO_KEY, 'StoreDir: /gnu/store\n', 'text/plain');
    await expect(ensureCacheInfo(store)).rejects.toThrow(/memory:\/\/test is a binary cache for store directory \/gnu\/store, not \/nix\/store/);
  });

  it('lets a store error through', async () => {
    const store = new MemoryStore({
      before: () => {
        throw new Error('403 Forbidden');
      },
    });
    await expect(ensureCacheInfo(store)).rejects.toThrow('403 Forbidden');
  });
});
