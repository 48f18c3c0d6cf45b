import { runAction } from '../../src/runner/index.js';
import { readBuildInputs } from './inputs.js';

await runAction(async () => {
  readBuildInputs();
});
