// The post step (action.yml `runs.post`), bundled on its own so it carries none of the build.
import { runAction } from '../../src/runner/index.js';
import { saveEvalCache } from './eval-cache.js';

await runAction(saveEvalCache);
