import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** One RS256 signing key and its public JWK, as an OIDC issuer publishes it. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: PublicJwk;
}

export interface PublicJwk {
  kty: 'RSA';
  alg: 'RS256';
  use: 'sig';
  kid: string;
  n: string;
  e: string;
  x5t?: string;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: 'jwk' }) as JsonWebKey;
  if (!n || !e) throw new Error('node:crypto exported an RSA key without n/e');
  // GitHub's kid is a key thumbprint; a hash of the modulus plays the same role.
  const kid = createHash('sha256').update(n).digest('base64url').slice(0, 27);
  return { kid, privateKey, jwk: { kty: 'RSA', alg: 'RS256', use: 'sig', kid, n, e } };
}

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJwt(claims: object, key: SigningKey): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
  const signingInput = `${b64(header)}.${b64(claims)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key.privateKey).toString('base64url')}`;
}

export interface DecodedJwt {
  header: { alg?: string; kid?: string; typ?: string };
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Splits a compact JWT; undefined when it is not one. */
export function parseJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as DecodedJwt['header'];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) return undefined;
    return { header, claims, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

/** Checks an RS256 signature against a published JWK. */
export function verifyJwtSignature(jwt: DecodedJwt, jwk: PublicJwk): boolean {
  if (jwt.header.alg !== 'RS256') return false;
  const key = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });
  return verify('sha256', Buffer.from(jwt.signingInput), key, jwt.signature);
}

export const newJti = (): string => randomUUID();
