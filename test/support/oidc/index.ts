export { githubSubject, startOidcIssuer, type GitHubClaims, type OidcIssuer, type OidcIssuerOptions } from './issuer.js';
export { startSts, type IssuedCredentials, type StsCall, type StsEmulator, type StsOptions, type TrustPolicy } from './sts.js';
export { stringLike } from './string-like.js';
export { verifySigV4, type SignedRequest, type SigV4Result } from './sigv4.js';
export { generateSigningKey, parseJwt, signJwt, verifyJwtSignature, type PublicJwk, type SigningKey } from './jwt.js';
