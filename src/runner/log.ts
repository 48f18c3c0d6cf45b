import * as core from '@actions/core';
import type { Log } from '../util/log.js';
import { mayCarryWorkflowCommand, quoteForRunner } from './stop-commands.js';

/**
 * The core's Log backed by the runner: groups, annotations and masking. fleet's own commands go
 * through @actions/core (which escapes their data onto one line); text that is printed as is goes
 * out inside a stop-commands block whenever it holds anything the runner could obey, so a
 * message that quotes Nix or a host cannot issue commands either.
 */
export const actionLog: Log = {
  debug: (message) => core.debug(message),
  info: (message) => core.info(mayCarryWorkflowCommand(message) ? quoteForRunner(message) : message),
  quoted: (text) => {
    if (text) core.info(quoteForRunner(text));
  },
  warning: (message, where) => core.warning(message, where ?? {}),
  error: (message, where) => core.error(message, where ?? {}),
  group: (title, body) => core.group(title, body),
  secret: (value) => core.setSecret(value),
};
