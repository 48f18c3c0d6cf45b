import { conditionKeyPrefix, decodeJwtClaims, describeClaims } from '../../../src/aws/jwt-claims.js';

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = (claims: unknown): string => `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}.c2lnbmF0dXJl`;

describe('decodeJwtClaims', () => {
  test('reads the payload of a compact JWT without verifying it', () => {
    const claims = { sub: 'repo:acme/fleet:ref:refs/heads/main', aud: 'sts.amazonaws.com', repository: 'acme/fleet', note: 'ü ✓' };
    expect(decodeJwtClaims(token(claims))).toEqual(claims);
  });

  test.each([['not-a-jwt'], [''], ['a.!!!.c'], [`${encode({})}.${Buffer.from('not json').toString('base64url')}.x`], [token([1, 2])], [token('text')]])(
    'answers undefined for %j',
    (value) => {
      expect(decodeJwtClaims(value)).toBeUndefined();
    },
  );
});

describe('describeClaims', () => {
  test('lists the claims a trust policy tests, in a stable order, skipping absent ones', () => {
    const text = describeClaims({
      exp: 1,
      job_workflow_ref: 'acme/fleet/.github/workflows/deploy.yml@refs/heads/main',
      sub: 'repo:acme/fleet:environment:production',
      aud: ['sts.amazonaws.com', 'other'],
      repository: 'acme/fleet',
      ref: 'refs/heads/main',
      environment: '',
    });
    expect(text.split('\n')).toEqual([
      '  sub: repo:acme/fleet:environment:production',
      '  aud: sts.amazonaws.com, other',
      '  repository: acme/fleet',
      '  ref: refs/heads/main',
      '  job_workflow_ref: acme/fleet/.github/workflows/deploy.yml@refs/heads/main',
    ]);
  });
});

test('conditionKeyPrefix strips the scheme, as IAM condition keys do', () => {
  expect(conditionKeyPrefix('https://token.actions.githubusercontent.com')).toBe('token.actions.githubusercontent.com');
  expect(conditionKeyPrefix('https://token.actions.githubusercontent.com/acme/')).toBe('token.actions.githubusercontent.com/acme');
  expect(conditionKeyPrefix(undefined)).toBe('token.actions.githubusercontent.com');
});
