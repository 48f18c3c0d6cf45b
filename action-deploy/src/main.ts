import { runAction } from '../../src/runner/index.js';
import { readDeployInputs } from './inputs.js';

await runAction(async () => {
  readDeployInputs();
  throw new Error('action-deploy: inputs are valid, but this action is not implemented yet in this build of fleet');
});
