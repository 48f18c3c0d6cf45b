import { nix32Encode } from '../nix/hash.js';

/** The NAR read from disk differs from what Nix's database recorded for the path. */
export class NarMismatchError extends Error {
  override name = 'NarMismatchError';
}

const HINT = 'the store path changed after Nix registered it; check it with "nix-store --verify --check-contents" and rebuild or repair it (nix-store --repair-path)';

/** `actual` is a lower bound when `atLeast` (reading stopped once it passed `expected`). */
export function sizeMismatch(path: string, actual: number, expected: number, atLeast = actual > expected): NarMismatchError {
  return new NarMismatchError(`the NAR of ${path} is ${atLeast ? 'more than ' : ''}${atLeast ? expected : actual} bytes but Nix recorded NarSize ${expected}: ${HINT}`);
}

export function hashMismatch(path: string, actual: Uint8Array, expected: Uint8Array): NarMismatchError {
  return new NarMismatchError(`the NAR of ${path} hashes to sha256:${nix32Encode(actual)} but Nix recorded NarHash sha256:${nix32Encode(expected)}: ${HINT}`);
}
