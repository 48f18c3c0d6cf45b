import * as core from '@actions/core';
import { errorMessage } from '../util/errors.js';
import { proxySecrets } from '../util/proxy.js';

/**
 * The one try/catch of an action's entry point: any error fails the step with its message.
 * FLEET_DEBUG=1 adds the stack to the debug log.
 */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    // A proxy URL's password would otherwise show wherever a URL or an error quotes it.
    for (const secret of proxySecrets()) core.setSecret(secret);
    await main();
  } catch (error) {
    if (error instanceof Error && error.stack) core.debug(error.stack);
    core.setFailed(errorMessage(error));
  }
}
