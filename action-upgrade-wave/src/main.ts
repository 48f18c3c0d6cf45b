import { runAction } from '../../src/runner/index.js';
import { readWaveInputs } from './inputs.js';

await runAction(async () => {
  readWaveInputs();
  throw new Error('action-upgrade-wave: inputs are valid, but this action is not implemented yet in this build of fleet');
});
