/**
 * What Nix says, in the wording of every Nix version the suite runs on (Nix 2.8 and current Nix).
 * Tests match Nix's messages through these only; test/unit/nix/real-output.test.ts checks each one
 * against the messages recorded from every version.
 */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A path refused for its signature: 2.8 "lacks a valid signature", current Nix "lacks a signature by a trusted key". */
export const SIGNATURE_REFUSED = /lacks a (?:valid signature|signature by a trusted key)/;

/** `SIGNATURE_REFUSED` for one store path. */
export function signatureRefusedFor(storePath: string): RegExp {
  return new RegExp(`cannot add path '${escape(storePath)}' because it ${SIGNATURE_REFUSED.source}`);
}

/**
 * A builder that exited with `code`: 2.8 "builder for '…drv' failed with exit code 3", current Nix
 * "Cannot build '…drv'.\n Reason: builder failed with exit code 3.". `drvName` is the derivation's
 * name (`bad-0.1`).
 */
export function builderFailed(drvName: string, code: number): RegExp {
  const drv = `[^']*-${escape(drvName)}\\.drv`;
  return new RegExp(`(?:builder for '${drv}' failed with exit code ${code}|Cannot build '${drv}'\\.\\s+Reason: builder failed with exit code ${code})`);
}
