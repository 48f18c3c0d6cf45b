import { generateKeyPairSync } from 'node:crypto';

/** A Nix binary-cache key pair (`name:base64`), made in memory. */
export function nixKeyPair(name = 'fleet-test-1'): { secret: string; public: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return { secret: `${name}:${Buffer.concat([seed, pub]).toString('base64')}`, public: `${name}:${pub.toString('base64')}` };
}
