import { runAction } from '../../src/runner/index.js';
import { readBumpInputs } from './inputs.js';

await runAction(async () => {
  readBumpInputs();
  throw new Error('action-flake-bump: inputs are valid, but this action is not implemented yet in this build of fleet');
});
