import { createRequire } from 'node:module';

interface S3rverAccounts {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void; revokeAccessKey(accessKeyId: string): void };
}

/**
 * s3rver accepts a signed request only when its access key id is in its account registry; this
 * registers the keys our STS emulator issues, so role credentials work against s3rver as on S3.
 */
export const s3rverAccounts = createRequire(import.meta.url)('s3rver/lib/models/account.js') as S3rverAccounts;
