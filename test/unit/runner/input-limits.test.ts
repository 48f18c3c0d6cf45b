import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUILD_INPUTS } from '../../../action-build/src/inputs.js';
import { DEPLOY_INPUTS } from '../../../action-deploy/src/inputs.js';
import { BUMP_INPUTS } from '../../../action-flake-bump/src/inputs.js';
import { GC_INPUTS } from '../../../action-gc/src/inputs.js';
import { WAVE_INPUTS } from '../../../action-upgrade-wave/src/inputs.js';
import type { InputParser } from '../../../src/runner/inputs.js';
import { MAX_TIMER_MS, parseDuration } from '../../../src/util/duration.js';
import { repoRoot } from '../../support/harness.js';

const SPECS: Record<string, Record<string, InputParser<unknown>>> = {
  'action-build': BUILD_INPUTS,
  'action-deploy': DEPLOY_INPUTS,
  'action-flake-bump': BUMP_INPUTS,
  'action-gc': GC_INPUTS,
  'action-upgrade-wave': WAVE_INPUTS,
};
/** Inputs that end up in a timer (the rest are compared with dates). */
const TIMERS = ['health-check-timeout', 'confirm-timeout', 'wait'];

const manifest = (action: string) => parse(readFileSync(join(repoRoot, action, 'action.yml'), 'utf8')) as { inputs: Record<string, { description: string; default?: string }> };
const durationInputs = Object.entries(SPECS).flatMap(([action, spec]) =>
  Object.keys(manifest(action).inputs)
    .filter((name) => /timeout|wait|lifetime|soak|after|age/.test(name))
    .map((name) => [action, name, spec[name]] as const),
);

describe('duration inputs', () => {
  it('are all found', () => {
    expect(durationInputs.map(([action, name]) => `${action} ${name}`)).toEqual([
      'action-deploy health-check-timeout',
      'action-deploy confirm-timeout',
      'action-deploy wait',
      'action-deploy manifest-lifetime',
      'action-gc min-age',
      'action-upgrade-wave soak',
      'action-upgrade-wave offline-after',
    ]);
  });

  it.each(durationInputs)('%s %s has a maximum, documented in action.yml', (action, name, parser) => {
    expect(parser?.maximum).toBeDefined();
    expect(manifest(action).inputs[name]?.description).toMatch(new RegExp(`at most ${parser?.maximum}\\b`));
  });

  it.each(durationInputs.filter(([, name]) => TIMERS.includes(name)))('%s %s cannot overflow a timer, even with the margins added to it', (_action, _name, parser) => {
    expect(parseDuration(parser?.maximum as string) * 2 + 3_600_000).toBeLessThan(MAX_TIMER_MS);
  });

  it.each(durationInputs)('%s %s keeps dates valid at its maximum', (_action, _name, parser) => {
    expect(new Date(Date.now() + parseDuration(parser?.maximum as string)).toISOString()).toMatch(/^\d{4}-/);
  });
});
