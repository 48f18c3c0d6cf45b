import { KeyFormatError, parsePublicKey } from '../cache/signing.js';

/**
 * Checks shared by several actions' inputs. Each returns what is wrong with a value (the caller
 * shows the value before it) or undefined.
 */

/** Values that reach a command's argv as operands (flakes, installables, input names). */
export const FLAKE_REF = /^[^-\s]\S*$/;
export const FLAKE_REF_PROBLEM = 'is not a flake reference: it has white space or starts with "-", which Nix would read as an option';

export function installableProblem(item: string): string | undefined {
  return FLAKE_REF.test(item) ? undefined : 'is not an installable: it has white space or starts with "-", which Nix would read as an option';
}

/** A Nix binary-cache public key, `name:base64` of 32 bytes. */
export function publicKeyProblem(item: string): string | undefined {
  try {
    parsePublicKey(item);
    return undefined;
  } catch (error) {
    if (error instanceof KeyFormatError) return `is not a public key: ${error.message}`;
    throw error;
  }
}

/** A store URL Nix substitutes from (`https://cache.example.org`, `s3://bucket?region=…`). */
export function substituterProblem(item: string): string | undefined {
  return /^(https?|s3|ssh|ssh-ng):\/\/[^\s/-]\S*$|^file:\/\/\/\S+$/.test(item) ? undefined : 'is not a binary cache URL (https://, s3://, file:// or ssh://)';
}
