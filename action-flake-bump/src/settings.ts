import { parseNixOptions } from '../../src/bump/nix-options.js';
import { InputError } from '../../src/runner/index.js';
import { readBumpInputs, type BumpInputs } from './inputs.js';

export interface BumpSettings {
  inputs: BumpInputs;
  /** `nix-options`, each passed to every nix command as `--option NAME VALUE`. */
  nixOptions: Record<string, string>;
}

/** Inputs, then the Nix options they give, checked before any flake is touched. */
export function readBumpSettings(): BumpSettings {
  const inputs = readBumpInputs();
  try {
    return { inputs, nixOptions: parseNixOptions(inputs['nix-options']) };
  } catch (error) {
    throw new InputError('nix-options', (error as Error).message, 'max-jobs 4');
  }
}
