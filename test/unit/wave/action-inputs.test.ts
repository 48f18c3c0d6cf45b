import { readWaveInputs } from '../../../action-upgrade-wave/src/inputs.js';
import { readWaveSettings } from '../../../action-upgrade-wave/src/settings.js';
import { clockFromEnv } from '../../../src/runner/clock.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';

describe('action-upgrade-wave inputs', () => {
  it('applies the defaults and parses every input', () => {
    const inputs = readWaveInputs(reader({ token: 't', mode: 'advance', soak: '2h', quorum: '80%', hosts: 'env:staging, @canary', expected: '{"web1":"/nix/store/x"}', abort: 'true' }));
    expect(inputs).toMatchObject({
      inventory: 'fleet.yaml', mode: 'advance', 'source-branch': 'staging', 'target-branch': 'main', 'status-source': 'cache', flake: '.', soak: 7_200_000,
      quorum: { percent: 80 }, 'offline-after': 7 * 86_400_000, 'hold-label': 'fleet-hold', 'auto-merge': 'off', abort: true, hosts: ['env:staging', '@canary'], expected: { web1: '/nix/store/x' },
    });
  });

  it('names every bad input with an example', () => {
    expect(() => readWaveInputs(reader({ token: 't', mode: 'yolo' }))).toThrow('Input "mode": "yolo" is not one of status, promote, advance. Example: mode: promote');
    expect(() => readWaveInputs(reader({ token: 't', 'offline-after': 'a week', quorum: 'most' }))).toThrow(/2 inputs are invalid:\n- Input "quorum": "most" is not a number or a percentage.*\n- Input "offline-after": "a week" is not a duration/);
    expect(() => readWaveInputs(reader({ token: 't', cache: 'ftp://x' }))).toThrow('Input "cache": "ftp://x" must start with s3://, http://, https:// or file://');
    expect(() => readWaveInputs(reader({ token: 't', expected: '{' }))).toThrow(/Input "expected": "\{" is not valid JSON/);
  });

  it('checks branch names by git\'s rules', () => {
    expect(() => readWaveInputs(reader({ token: 't', 'source-branch': 'staging..main' }))).toThrow(
      'Input "source-branch": "staging..main" contains "..", which git forbids in ref names. Example: source-branch: staging',
    );
    expect(() => readWaveInputs(reader({ token: 't', 'target-branch': 'refs/heads/main' }))).toThrow('Input "target-branch": "refs/heads/main" is a full ref');
  });

  it('caps soak and offline-after', () => {
    expect(() => readWaveInputs(reader({ token: 't', soak: '999999999999d' }))).toThrow('Input "soak": "999999999999d" is longer than the maximum 90d. Example: soak: 24h');
    expect(() => readWaveInputs(reader({ token: 't', 'offline-after': '1y' }))).toThrow('Input "offline-after": "1y" is not a duration');
    expect(() => readWaveInputs(reader({ token: 't', 'offline-after': '91d' }))).toThrow('Input "offline-after": "91d" is longer than the maximum 90d. Example: offline-after: 7d');
  });
});

describe('FLEET_NOW', () => {
  it('fixes the clock for tests and refuses anything but an ISO time', () => {
    expect(clockFromEnv({ FLEET_NOW: '2025-03-10T12:00:00Z' }).now()).toEqual(new Date('2025-03-10T12:00:00Z'));
    expect(Math.abs(clockFromEnv({}).now().getTime() - Date.now())).toBeLessThan(60_000);
    expect(() => clockFromEnv({ FLEET_NOW: 'tomorrow' })).toThrow('FLEET_NOW="tomorrow" is not an ISO 8601 time');
  });
});

describe('action-upgrade-wave inputs', () => {
  it('parses exactly the inputs action.yml declares', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const root = new URL('../../../action-upgrade-wave/', import.meta.url);
    const manifest = parse(await readFile(new URL('action.yml', root), 'utf8')) as { inputs: Record<string, unknown> };
    const parsed = Object.keys(readWaveInputs(reader({ token: 't' })));
    expect(parsed.sort()).toEqual(Object.keys(manifest.inputs).sort());
  });
});

// The runner passes inputs as INPUT_* variables; readWaveSettings reads them as the action does.
function withInputs<T>(values: Record<string, string>, body: () => T): T {
  const names = Object.keys(values).map((name) => `INPUT_${name.toUpperCase()}`);
  Object.entries(values).forEach(([name, value]) => (process.env[`INPUT_${name.toUpperCase()}`] = value));
  try {
    return body();
  } finally {
    names.forEach((name) => delete process.env[name]);
  }
}

describe('token', () => {
  it('is optional for a status report, so operators can ask from a terminal', () => {
    expect(withInputs({ mode: 'status', cache: 'file:///tmp/cache' }, () => readWaveSettings().inputs.token)).toBeUndefined();
  });

  it('is required to open pull requests, abort, or read deployments', () => {
    const cases: Record<string, string>[] = [{ mode: 'promote' }, { mode: 'advance' }, { mode: 'status', abort: 'true' }, { mode: 'status', 'status-source': 'deployments' }];
    for (const values of cases) {
      expect(() => withInputs({ cache: 'file:///tmp/cache', ...values }, () => readWaveSettings())).toThrow(/Input "token": is required to open pull requests/);
    }
  });
});

/** The `history` input: a boolean like the others, and only with a store to append to. */
describe('history', () => {
  it('is false by default and takes true or false', () => {
    expect(readWaveInputs(reader({})).history).toBe(false);
    expect(readWaveInputs(reader({ history: 'true' })).history).toBe(true);
    expect(readWaveInputs(reader({ history: 'false' })).history).toBe(false);
    expect(() => readWaveInputs(reader({ history: 'yes please' }))).toThrow(/Input "history": "yes please" .*Example: history: true/);
  });

  it('needs the cache input, where the records are appended', () => {
    expect(() => withInputs({ mode: 'status', 'status-source': 'ssh', history: 'true' }, () => readWaveSettings())).toThrow(
      'Input "cache": is required when history is true (the status history records are appended to fleet/status-history/ there)',
    );
    expect(withInputs({ mode: 'status', cache: 'file:///tmp/cache', history: 'true' }, () => readWaveSettings().inputs.history)).toBe(true);
  });
});
