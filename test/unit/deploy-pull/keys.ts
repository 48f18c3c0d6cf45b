import { generateKeyPairSync } from 'node:crypto';
import { parseSigningKey, type SigningKey } from '../../../src/cache/signing.js';

/** A fresh Nix-format signing key (`name:base64(seed ‖ public key)`), as `nix key generate-secret` makes. */
export function testSigningKey(name: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return parseSigningKey(`${name}:${Buffer.concat([seed, pub]).toString('base64')}`);
}
