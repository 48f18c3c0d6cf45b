import { amount, boolean, choice, duration, integer, json, list, parseInputs, splitList, string, url } from '../../../src/runner/inputs.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';

describe('parseInputs', () => {
  it('applies fallbacks and converts every kind of input', () => {
    const parsed = parseInputs(
      {
        flake: string({ fallback: '.', example: '.' }),
        hosts: list({ example: 'web1' }),
        push: boolean({ fallback: false, example: 'true' }),
        concurrency: integer({ fallback: 32, min: 1, example: '32' }),
        timeout: duration({ example: '90s' }),
        mode: choice(['status', 'promote'], { fallback: 'status', example: 'status' }),
        errors: amount({ example: '10%' }),
        paths: json<Record<string, string>, { example: string }>({ example: '{"web1":"/nix/store/…"}' }),
        cache: url({ schemes: ['s3', 'http'], example: 's3://b' }),
      },
      reader({ hosts: 'web1, web2\n@clinic # the clinics\n\n', push: 'true', timeout: '15m', errors: '10%', paths: '{"web1":"/nix/store/x"}', cache: 's3://bucket/prefix?region=eu-west-1' }),
    );
    expect(parsed).toEqual({
      flake: '.',
      hosts: ['web1', 'web2', '@clinic'],
      push: true,
      concurrency: 32,
      timeout: 900_000,
      mode: 'status',
      errors: { percent: 10 },
      paths: { web1: '/nix/store/x' },
      cache: new URL('s3://bucket/prefix?region=eu-west-1'),
    });
  });

  it('names the input, the problem and a good value', () => {
    expect(() => parseInputs({ concurrency: integer({ min: 1, example: '32' }) }, reader({ concurrency: 'lots' }))).toThrow(
      'Input "concurrency": "lots" is not a whole number. Example: concurrency: 32',
    );
    expect(() => parseInputs({ cache: url({ schemes: ['s3', 'file'], example: 's3://my-cache' }) }, reader({ cache: 'ftp://x' }))).toThrow(
      'Input "cache": the scheme "ftp://" is not supported (use s3://, file://). Example: cache: s3://my-cache',
    );
  });

  it('reports every invalid input at once', () => {
    const attempt = () =>
      parseInputs(
        { a: boolean({ example: 'true' }), b: duration({ example: '90s' }), c: choice(['x'], { example: 'x' }), d: string({ required: true, example: 'd' }) },
        reader({ a: 'maybe', b: 'soon', c: 'y' }),
      );
    expect(attempt).toThrow(/4 inputs are invalid/);
    expect(attempt).toThrow(/Input "a": "maybe" is not a boolean/);
    expect(attempt).toThrow(/Input "b": "soon" is not a duration/);
    expect(attempt).toThrow(/Input "c": "y" is not one of x/);
    expect(attempt).toThrow(/Input "d": is required/);
  });

  it('keeps passwords out of URL errors', () => {
    expect(() => parseInputs({ cache: url({ schemes: ['s3'], example: 's3://b' }) }, reader({ cache: 'http//user:hunter2@x' }))).toThrow(/is not a URL/);
    try {
      parseInputs({ cache: url({ schemes: ['s3'], example: 's3://b' }) }, reader({ cache: 'https://user:hunter2@cache.example.org/' }));
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('rejects percentages over 100 and bad JSON', () => {
    expect(() => parseInputs({ e: amount({ example: '10%' }) }, reader({ e: '150%' }))).toThrow('150% is more than 100%');
    expect(() => parseInputs({ j: json({ example: '{}' }) }, reader({ j: '{nope' }))).toThrow(/is not valid JSON/);
  });
});

describe('splitList', () => {
  it('accepts newline- and comma-separated values', () => {
    expect(splitList('a,b\n c \n\n# comment\nd # trailing')).toEqual(['a', 'b', 'c', 'd']);
  });
});
