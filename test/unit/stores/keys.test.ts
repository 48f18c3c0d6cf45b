import { assertValidKey, assertValidPrefix, encodeKeyPath } from '../../../src/cache/stores/keys.js';

describe('cache keys', () => {
  test.each(['nix-cache-info', 'abc.narinfo', 'nar/1xyz.nar.zst', 'fleet/prod/web-1.json', 'log/x-y_z.drv'])('%s is valid', (key) => {
    expect(() => assertValidKey(key, 'test')).not.toThrow();
  });

  test.each([
    ['', /is empty/],
    ['/etc/passwd', /starts with "\/"/],
    ['../x', /"\." or "\.\." segment/],
    ['a/../../x', /"\." or "\.\." segment/],
    ['a/./x', /"\." or "\.\." segment/],
    ['a//x', /empty path segment/],
    ['a/', /empty path segment/],
    ['a\\b', /backslash or a control character/],
    ['a\nb', /backslash or a control character/],
  ])('%j is refused', (key, problem) => {
    expect(() => assertValidKey(key, 's3://cache')).toThrow(problem);
    expect(() => assertValidKey(key, 's3://cache')).toThrow(/for s3:\/\/cache/);
  });

  test('prefixes may be empty or end with a slash', () => {
    expect(() => assertValidPrefix('', 'x')).not.toThrow();
    expect(() => assertValidPrefix('fleet/prod/', 'x')).not.toThrow();
    expect(() => assertValidPrefix('fleet/pr', 'x')).not.toThrow();
    expect(() => assertValidPrefix('../', 'x')).toThrow(/Invalid cache key/);
  });

  test('URL paths keep slashes and encode the rest', () => {
    expect(encodeKeyPath('fleet/prod env/a#b?.json')).toBe('fleet/prod%20env/a%23b%3F.json');
  });
});
