import { sleep } from '../../../src/util/async.js';
import { MAX_TIMER_MS, parseDuration } from '../../../src/util/duration.js';

describe('parseDuration', () => {
  it('reads units, sums and bare seconds', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('15')).toBe(15_000);
  });

  it('refuses digits that overflow to Infinity instead of returning it', () => {
    expect(() => parseDuration(`${'9'.repeat(400)}d`)).toThrow(/is not a duration/);
    expect(() => parseDuration('9'.repeat(400))).toThrow(/is not a duration/);
  });
});

describe('sleep', () => {
  it('refuses a delay Node would fire at once, instead of firing at once', async () => {
    await expect(sleep(25 * 86_400_000)).rejects.toThrow(`cannot wait 2160000000 ms: Node's timers stop at ${MAX_TIMER_MS} ms`);
  });
});
