import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

/**
 * Nix signing keys (NixOS/nix src/libutil/signature/local-keys.cc): `name:base64`, where a
 * secret key is libsodium's 64 bytes (32-byte seed, then the 32-byte public key) and a public
 * key is 32 bytes. Signatures are `name:base64(64-byte Ed25519 signature)`.
 *
 * Keys live only in KeyObjects in memory; error messages never repeat key material.
 */

// DER headers that turn a raw 32-byte Ed25519 seed / public key into PKCS#8 / SPKI.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

export interface PublicKey {
  readonly name: string;
  /** `name:base64(32 bytes)`, the form `trusted-public-keys` takes. */
  readonly text: string;
  /** Whether `signature` (`name:base64`) is this key's signature of `data`. */
  verify(data: string, signature: string): boolean;
}

export interface SigningKey {
  readonly name: string;
  readonly publicKey: PublicKey;
  /** `name:base64(signature)` of `data` (a narinfo fingerprint). */
  sign(data: string): string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function splitKey(text: string, what: string): { name: string; bytes: Buffer } {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) throw new KeyFormatError(`the ${what} is not in Nix's "name:base64" form (e.g. "cache.example.org-1:…", as printed by "nix key generate-secret")`);
  const name = trimmed.slice(0, colon);
  const data = trimmed.slice(colon + 1);
  if (name === '') throw new KeyFormatError(`the ${what} has an empty name before ":"`);
  if (/\s/.test(name)) throw new KeyFormatError(`the ${what}'s name contains white space`);
  if (data === '' || !BASE64.test(data)) throw new KeyFormatError(`the ${what} "${name}:…" is not base64 after the ":"`);
  return { name, bytes: Buffer.from(data, 'base64') };
}

class Ed25519PublicKey implements PublicKey {
  readonly text: string;

  constructor(
    readonly name: string,
    private readonly key: KeyObject,
    raw: Buffer,
  ) {
    this.text = `${name}:${raw.toString('base64')}`;
  }

  verify(data: string, signature: string): boolean {
    const colon = signature.indexOf(':');
    if (colon < 0 || signature.slice(0, colon) !== this.name) return false;
    const sig = Buffer.from(signature.slice(colon + 1), 'base64');
    if (sig.length !== 64) return false;
    return edVerify(null, Buffer.from(data, 'utf8'), this.key, sig);
  }
}

function publicKeyFromRaw(name: string, raw: Buffer): PublicKey {
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  return new Ed25519PublicKey(name, key, raw);
}

/** Parses `name:base64(32 bytes)`, e.g. `cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=`. */
export function parsePublicKey(text: string): PublicKey {
  const { name, bytes } = splitKey(text, 'public key');
  if (bytes.length !== 32) throw new KeyFormatError(`the public key "${name}:…" holds ${bytes.length} bytes; an Ed25519 public key has 32`);
  return publicKeyFromRaw(name, bytes);
}

/**
 * Parses a secret key as `nix key generate-secret` prints it. Checks that its public half
 * matches its seed, which catches a truncated or hand-edited key before it signs anything.
 */
export function parseSigningKey(text: string): SigningKey {
  const { name, bytes } = splitKey(text, 'secret key');
  if (bytes.length !== 64) {
    const hint = bytes.length === 32 ? ' (is this the public key? The secret key is the longer one)' : '';
    throw new KeyFormatError(`the secret key "${name}:…" holds ${bytes.length} bytes; a Nix secret key has 64${hint}`);
  }
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, bytes.subarray(0, 32)]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  // Only the KeyObject keeps the seed from here on.
  der.fill(0);
  const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
  const matches = derived.equals(bytes.subarray(32));
  bytes.fill(0);
  if (!matches) throw new KeyFormatError(`the secret key "${name}:…" is corrupt: its public half does not match its seed`);
  const publicKey = publicKeyFromRaw(name, Buffer.from(derived));
  return {
    name,
    publicKey,
    sign: (data) => `${name}:${edSign(null, Buffer.from(data, 'utf8'), privateKey).toString('base64')}`,
  };
}

/** Whether any of `signatures` is a valid signature of `data` by one of `keys`. */
export function verifyAny(data: string, signatures: readonly string[], keys: readonly PublicKey[]): boolean {
  return signatures.some((sig) => keys.some((key) => key.verify(data, sig)));
}
