import * as core from '@actions/core';
import type { Log } from '../util/log.js';

/** The core's Log backed by the runner: groups, annotations and masking. */
export const actionLog: Log = {
  debug: (message) => core.debug(message),
  info: (message) => core.info(message),
  warning: (message, where) => core.warning(message, where ?? {}),
  error: (message, where) => core.error(message, where ?? {}),
  group: (title, body) => core.group(title, body),
  secret: (value) => core.setSecret(value),
};
