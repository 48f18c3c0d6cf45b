import { githubSubject } from '../../support/oidc/issuer.js';
import { generateSigningKey, parseJwt, signJwt, verifyJwtSignature } from '../../support/oidc/jwt.js';
import { stringLike } from '../../support/oidc/string-like.js';

// The emulators decide what the tests under test/integration/aws-* prove, so they are tested too.
describe('stringLike (IAM StringLike)', () => {
  test.each([
    ['repo:acme/fleet:*', 'repo:acme/fleet:ref:refs/heads/main', true],
    ['repo:acme/fleet:*', 'repo:acme/fleet:', true],
    ['repo:acme/fleet:*', 'repo:acme/fleet2:ref:refs/heads/main', false],
    ['repo:acme/fleet:environment:production', 'repo:acme/fleet:environment:production', true],
    ['repo:acme/fleet:environment:production', 'repo:acme/fleet:environment:production2', false],
    ['repo:acme/fleet:environment:Production', 'repo:acme/fleet:environment:production', false],
    ['repo:acme/fleet:ref:refs/heads/release-?', 'repo:acme/fleet:ref:refs/heads/release-1', true],
    ['repo:acme/fleet:ref:refs/heads/release-?', 'repo:acme/fleet:ref:refs/heads/release-10', false],
    ['repo:acme/fle.t:*', 'repo:acme/fleXt:pull_request', false],
    ['repo:acme/(fleet)+:*', 'repo:acme/(fleet)+:pull_request', true],
  ])('%s ~ %s → %s', (pattern, value, expected) => {
    expect(stringLike(pattern, value)).toBe(expected);
  });
});

test('githubSubject follows GitHub: environment, then pull_request, then the ref', () => {
  expect(githubSubject({ repository: 'acme/fleet', ref: 'refs/heads/main', event_name: 'push', environment: 'production' })).toBe('repo:acme/fleet:environment:production');
  expect(githubSubject({ repository: 'acme/fleet', ref: 'refs/pull/3/merge', event_name: 'pull_request' })).toBe('repo:acme/fleet:pull_request');
  expect(githubSubject({ repository: 'acme/fleet', ref: 'refs/tags/v1', event_name: 'push' })).toBe('repo:acme/fleet:ref:refs/tags/v1');
});

test('RS256 tokens verify against their own key only, and not after tampering', () => {
  const key = generateSigningKey();
  const other = generateSigningKey();
  const token = signJwt({ sub: 'repo:acme/fleet:pull_request' }, key);
  const parsed = parseJwt(token);
  expect(parsed?.header).toMatchObject({ alg: 'RS256', kid: key.kid });
  expect(verifyJwtSignature(parsed!, key.jwk)).toBe(true);
  expect(verifyJwtSignature(parsed!, other.jwk)).toBe(false);
  const [h, , s] = token.split('.');
  const forged = parseJwt(`${h}.${Buffer.from(JSON.stringify({ sub: 'repo:acme/fleet:environment:production' })).toString('base64url')}.${s}`);
  expect(verifyJwtSignature(forged!, key.jwk)).toBe(false);
  expect(verifyJwtSignature({ ...parsed!, header: { ...parsed!.header, alg: 'none' } }, key.jwk)).toBe(false);
  expect(parseJwt('only.two')).toBeUndefined();
});
