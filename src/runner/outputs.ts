import * as core from '@actions/core';

/** Sets outputs; objects and arrays become JSON the next step can `fromJSON`. */
export function setOutputs(outputs: Record<string, string | number | boolean | object | undefined>): void {
  for (const [name, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    core.setOutput(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
}

export const saveState = (name: string, value: string): void => core.saveState(name, value);
export const readState = (name: string): string => core.getState(name);
