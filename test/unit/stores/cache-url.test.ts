import { openStore, parseCacheUrl, redactUrl } from '../../../src/cache/open-store.js';
import { FileBinaryCacheStore } from '../../../src/cache/stores/file.js';
import { HttpBinaryCacheStore } from '../../../src/cache/stores/http.js';
import { S3BinaryCacheStore } from '../../../src/cache/stores/s3.js';
import { UserError } from '../../../src/util/errors.js';

const noEnv = {};

describe('parseCacheUrl', () => {
  test('file:// takes an absolute directory', () => {
    expect(parseCacheUrl('file:///srv/nix-cache/?compression=zstd', noEnv)).toEqual({
      kind: 'file',
      url: 'file:///srv/nix-cache',
      directory: '/srv/nix-cache',
      params: { compression: 'zstd' },
    });
    expect(parseCacheUrl('file:///srv/my%20cache', noEnv)).toMatchObject({ directory: '/srv/my cache' });
    // shared memory is a real (tmpfs) directory, unlike the rest of /dev
    expect(parseCacheUrl('file:///dev/shm/cache', noEnv)).toMatchObject({ directory: '/dev/shm/cache' });
    expect(parseCacheUrl('file:///processes', noEnv)).toMatchObject({ directory: '/processes' });
  });

  test('http(s):// keeps the path, drops credentials and parameters from url', () => {
    const parsed = parseCacheUrl('https://deploy:p%40ss@cache.example.org:8443/nix/?compression=zstd&priority=30', noEnv);
    expect(parsed).toEqual({
      kind: 'http',
      url: 'https://cache.example.org:8443/nix',
      auth: { username: 'deploy', password: 'p@ss' },
      params: { compression: 'zstd', priority: '30' },
    });
    expect(parseCacheUrl('http://127.0.0.1:8080', noEnv)).toEqual({ kind: 'http', url: 'http://127.0.0.1:8080', params: {} });
  });

  test('s3:// reads the parameters Nix accepts', () => {
    expect(parseCacheUrl('s3://my-nix-cache/team/a/?region=eu-west-1&endpoint=minio.example.org:9000&scheme=http&profile=ci&compression=zstd', noEnv)).toEqual({
      kind: 's3',
      url: 's3://my-nix-cache/team/a?region=eu-west-1&endpoint=http%3A%2F%2Fminio.example.org%3A9000&profile=ci',
      location: { bucket: 'my-nix-cache', prefix: 'team/a', region: 'eu-west-1', endpoint: 'http://minio.example.org:9000', profile: 'ci' },
      params: { region: 'eu-west-1', endpoint: 'minio.example.org:9000', scheme: 'http', profile: 'ci', compression: 'zstd' },
    });
    // scheme defaults to https; a full endpoint URL is taken as is
    expect(parseCacheUrl('s3://b12?endpoint=storage.example.org', noEnv)).toMatchObject({ location: { endpoint: 'https://storage.example.org' } });
    expect(parseCacheUrl('s3://b12?endpoint=http://127.0.0.1:9000/', noEnv)).toMatchObject({ location: { endpoint: 'http://127.0.0.1:9000' } });
    expect(parseCacheUrl('s3://b12', noEnv)).toEqual({ kind: 's3', url: 's3://b12', location: { bucket: 'b12', prefix: '' }, params: {} });
  });

  test('s3:// takes AWS_ENDPOINT_URL_S3 (then AWS_ENDPOINT_URL) when the URL has no endpoint', () => {
    expect(parseCacheUrl('s3://b12', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4568', AWS_ENDPOINT_URL: 'http://other' })).toMatchObject({ location: { endpoint: 'http://127.0.0.1:4568' } });
    expect(parseCacheUrl('s3://b12', { AWS_ENDPOINT_URL: 'http://other:1' })).toMatchObject({ location: { endpoint: 'http://other:1' } });
    expect(parseCacheUrl('s3://b12?endpoint=http://mine:2', { AWS_ENDPOINT_URL_S3: 'http://env:3' })).toMatchObject({ location: { endpoint: 'http://mine:2' } });
  });

  test('ssh:// and ssh-ng:// are marked for nix copy', () => {
    expect(parseCacheUrl('ssh-ng://deploy@cache.example.org?remote-store=/nix', noEnv)).toEqual({
      kind: 'nix-copy',
      scheme: 'ssh-ng',
      // The user says who connects (no secret); nix copy gets the URL as given.
      url: 'ssh-ng://deploy@cache.example.org',
      params: { 'remote-store': '/nix' },
      target: 'ssh-ng://deploy@cache.example.org?remote-store=/nix',
    });
    expect(parseCacheUrl('ssh://host', noEnv)).toMatchObject({ kind: 'nix-copy', scheme: 'ssh' });
  });

  test.each([
    ['ftp://x', /Cache URL "ftp:\/\/x" uses the unsupported scheme "ftp:\/\/"; use s3:\/\/, http:\/\/, https:\/\/ or file:\/\/.*\(example: s3:\/\/my-nix-cache\?region=eu-west-1/],
    ['', /Cache URL "" is empty \(example: /],
    ['/srv/cache', /is a path, not a URL.*\(example: file:\/\/\/srv\/cache\)/],
    ['cache.example.org', /has no scheme/],
    ['daemon', /names the local Nix store/],
    ['file://srv/cache', /must have an absolute path after file:\/\/ \(three slashes\) \(example: file:\/\/\/srv\/cache\)/],
    ['file:///', /must name a directory other than \//],
    ['file:///proc/self/fd', /"file:\/\/\/proc\/self\/fd" is inside \/proc, which the kernel provides .*: a cache needs a directory on a real disk \(example: file:\/\/\/srv\/nix-cache\)/],
    ['file:///sys', /is inside \/sys, which the kernel provides/],
    ['file:///dev/null', /is inside \/dev, which the kernel provides/],
    ['https://', /is not a valid URL|has no host/],
    ['s3://AB', /has no valid bucket name/],
    ['s3://my-cache?scheme=ftp', /scheme=ftp; use scheme=http or scheme=https/],
    ['s3://my-cache?region=EU WEST', /invalid region/],
    ['s3://key:secret@my-cache', /carries credentials/],
    ['s3://my-cache/a//b', /invalid key prefix/],
  ])('%j is refused', (url, message) => {
    expect(() => parseCacheUrl(url, noEnv)).toThrow(UserError);
    expect(() => parseCacheUrl(url, noEnv)).toThrow(message);
  });

  test('errors never echo credentials', () => {
    expect(() => parseCacheUrl('gopher://user:hunter2@host', noEnv)).toThrow(/"gopher:\/\/user:\*\*\*@host"/);
    expect(() => parseCacheUrl('gopher://user:hunter2@host', noEnv)).not.toThrow(/hunter2/);
  });

  test('redactUrl hides user info anywhere in a text', () => {
    expect(redactUrl('see https://a:b@h/x and s3://c')).toBe('see https://a:***@h/x and s3://c');
    expect(redactUrl('https://ghp_token@github.example/x.git')).toBe('https://***@github.example/x.git');
    expect(redactUrl('ssh-ng://deploy@cache.example.org and ssh://root:pw@h')).toBe('ssh-ng://deploy@cache.example.org and ssh://root:***@h');
  });
});

describe('openStore', () => {
  test('chooses the store by scheme and strips credentials from url', async () => {
    const file = openStore('file:///tmp/fleet-unit-cache', { env: noEnv });
    const http = openStore('https://u:secret@cache.example.org/nix?compression=zstd', { env: noEnv });
    const s3 = openStore('s3://my-nix-cache?region=eu-west-1', { env: noEnv, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      expect(file).toBeInstanceOf(FileBinaryCacheStore);
      expect(http).toBeInstanceOf(HttpBinaryCacheStore);
      expect(http.url).toBe('https://cache.example.org/nix');
      expect(s3).toBeInstanceOf(S3BinaryCacheStore);
      expect(s3.url).toBe('s3://my-nix-cache?region=eu-west-1');
    } finally {
      await Promise.all([file.close(), http.close(), s3.close()]);
    }
  });

  test('refuses SSH stores, which nix copy handles', () => {
    expect(() => openStore('ssh-ng://deploy@host')).toThrow(/is an SSH store: it is reached with nix copy/);
  });

  test('accepts an already parsed URL', async () => {
    const store = openStore(parseCacheUrl('file:///tmp/fleet-unit-cache', noEnv));
    expect(store.url).toBe('file:///tmp/fleet-unit-cache');
    await store.close();
  });
});
