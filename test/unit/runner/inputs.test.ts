import { amount, boolean, branch, choice, custom, duration, integer, json, list, parseInputs, splitList, string, url } from '../../../src/runner/inputs.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';

describe('parseInputs', () => {
  it('applies fallbacks and converts every kind of input', () => {
    const parsed = parseInputs(
      {
        flake: string({ fallback: '.', example: '.' }),
        hosts: list({ example: 'web1' }),
        push: boolean({ fallback: false, example: 'true' }),
        concurrency: integer({ fallback: 32, min: 1, example: '32' }),
        timeout: duration({ max: '1h', example: '90s' }),
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
        { a: boolean({ example: 'true' }), b: duration({ max: '1h', example: '90s' }), c: choice(['x'], { example: 'x' }), d: string({ required: true, example: 'd' }) },
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
    expect(() => parseInputs({ e: amount({ example: '10%' }) }, reader({ e: '150%' }))).toThrow('"150%" is more than 100%');
    expect(() => parseInputs({ j: json({ example: '{}' }) }, reader({ j: '{nope' }))).toThrow(/is not valid JSON/);
  });
});

describe('splitList', () => {
  it('accepts newline- and comma-separated values', () => {
    expect(splitList('a,b\n c \n\n# comment\nd # trailing')).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('duration limits', () => {
  const timeout = duration({ fallback: 60_000, min: '1s', max: '1h', example: '60s' });
  const parse = (raw: string) => parseInputs({ 'health-check-timeout': timeout }, reader({ 'health-check-timeout': raw }));

  it('accepts values within the limits and says what the maximum is', () => {
    expect(parse('1h')).toEqual({ 'health-check-timeout': 3_600_000 });
    expect(parse('')).toEqual({ 'health-check-timeout': 60_000 });
    expect(timeout.maximum).toBe('1h');
  });

  it('refuses a value above the maximum, naming the input, the value, the maximum and an example', () => {
    expect(() => parse('25d')).toThrow('Input "health-check-timeout": "25d" is longer than the maximum 1h. Example: health-check-timeout: 60s');
    expect(() => parse('61m')).toThrow('"61m" is longer than the maximum 1h');
    expect(() => parse('999999999999d')).toThrow('"999999999999d" is longer than the maximum 1h');
    expect(() => parse('500ms')).toThrow('Input "health-check-timeout": "500ms" is shorter than the minimum 1s. Example: health-check-timeout: 60s');
  });

  it('refuses numbers too long to be a number at all', () => {
    expect(() => parse('9'.repeat(400))).toThrow(/is not a duration/);
  });

  it('refuses a default above its own maximum (a bug in the action, caught when the spec loads)', () => {
    expect(() => duration({ fallback: 2 * 3_600_000, max: '1h', example: '1h' })).toThrow('the default 2h0m is above the maximum 1h');
  });
});

describe('values shown in errors', () => {
  const cache = string({ pattern: /^(s3|https?):\/\/\S+$/, patternProblem: 'must start with s3://, http:// or https://', example: 's3://my-cache' });

  it('shows the value a pattern refuses, without the password of a URL', () => {
    expect(() => parseInputs({ cache }, reader({ cache: 'ftp://x' }))).toThrow('Input "cache": "ftp://x" must start with s3://, http:// or https://. Example: cache: s3://my-cache');
    let message = '';
    try {
      parseInputs({ cache }, reader({ cache: 'ftp://deploy:hunter2@cache.example.org/' }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"ftp://deploy:***@cache.example.org/" must start with');
    expect(message).not.toContain('hunter2');
  });

  it('shows the start of a value that is not JSON', () => {
    expect(() => parseInputs({ paths: json({ example: '{}' }) }, reader({ paths: '{web1: x}' }))).toThrow(/Input "paths": "\{web1: x\}" is not valid JSON/);
  });
});

describe('branch', () => {
  const parse = (raw: string) => parseInputs({ 'source-branch': branch({ fallback: 'staging', example: 'staging' }) }, reader({ 'source-branch': raw }));

  it('accepts branch names git accepts', () => {
    for (const name of ['main', 'staging', 'release/24.11', 'flake-bump_2', 'user/feature.x', 'a-b.c/d']) expect(parse(name)).toEqual({ 'source-branch': name });
    expect(parse('')).toEqual({ 'source-branch': 'staging' });
  });

  it.each([
    ['staging..main', 'contains ".."'],
    ['feature branch', 'contains a space'],
    ['-x', 'starts with "-"'],
    ['main.lock', 'ending with ".lock"'],
    ['.hidden', 'starting with "."'],
    ['a//b', 'empty path component'],
    ['release/', 'empty path component'],
    ['v1.', 'ends with "."'],
    ['main@{1}', 'contains "@{"'],
    ['a~1', 'contains "~"'],
    ['a^', 'contains "^"'],
    ['a:b', 'contains ":"'],
    ['wip*', 'contains "*"'],
    ['x[1]', 'contains "["'],
    ['a\\b', 'contains "\\"'],
    ['HEAD', 'symbolic ref'],
    ['refs/heads/main', 'give the branch name without "refs/heads/"'],
  ])('refuses %j, showing it (%s)', (name, problem) => {
    let message = '';
    try {
      parse(name);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`Input "source-branch": ${JSON.stringify(name)} `);
    expect(message).toContain(problem);
    expect(message).toContain('Example: source-branch: staging');
  });
});

describe('custom', () => {
  it('turns the converter\'s error into one naming the input, with the example', () => {
    const even = custom<number, { example: string }>({
      example: '2',
      convert: (raw) => {
        if (Number(raw) % 2) throw new Error(`"${raw}" is odd`);
        return Number(raw);
      },
    });
    expect(parseInputs({ n: even }, reader({ n: '4' }))).toEqual({ n: 4 });
    expect(() => parseInputs({ n: even }, reader({ n: '3' }))).toThrow('Input "n": "3" is odd. Example: n: 2');
  });
});
