// The post step (action.yml `runs.post`, run also after a failure or a cancel), bundled on its own.
import { runAction } from '../../src/runner/index.js';
import { cleanUpSshLeftovers } from './ssh-leftovers.js';

await runAction(cleanUpSshLeftovers);
