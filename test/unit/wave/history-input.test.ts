import { readWaveInputs } from '../../../action-upgrade-wave/src/inputs.js';
import { readWaveSettings } from '../../../action-upgrade-wave/src/settings.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';

/** The `history` input: a boolean like the others, and only with a store to append to. */
describe('action-upgrade-wave history input', () => {
  it('is false by default and takes true or false', () => {
    expect(readWaveInputs(reader({})).history).toBe(false);
    expect(readWaveInputs(reader({ history: 'true' })).history).toBe(true);
    expect(readWaveInputs(reader({ history: 'false' })).history).toBe(false);
    expect(() => readWaveInputs(reader({ history: 'yes please' }))).toThrow(/Input "history": "yes please" .*Example: history: true/);
  });

  function withInputs<T>(values: Record<string, string>, body: () => T): T {
    const names = Object.keys(values).map((name) => `INPUT_${name.toUpperCase()}`);
    Object.entries(values).forEach(([name, value]) => (process.env[`INPUT_${name.toUpperCase()}`] = value));
    try {
      return body();
    } finally {
      names.forEach((name) => delete process.env[name]);
    }
  }

  it('needs the cache input, where the records are appended', () => {
    expect(() => withInputs({ mode: 'status', 'status-source': 'ssh', history: 'true' }, () => readWaveSettings())).toThrow(
      'Input "cache": is required when history is true (the status history records are appended to fleet/status-history/ there)',
    );
    expect(withInputs({ mode: 'status', cache: 'file:///tmp/cache', history: 'true' }, () => readWaveSettings().inputs.history)).toBe(true);
  });
});
