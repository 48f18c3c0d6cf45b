import { UserError } from '../../../src/util/errors.js';
import { explainAssumeRoleError } from '../../../src/aws/sts-errors.js';

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = {
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:acme/fleet:pull_request',
  aud: 'sts.amazonaws.com',
  repository: 'acme/fleet',
  ref: 'refs/pull/7/merge',
  job_workflow_ref: 'acme/fleet/.github/workflows/ci.yml@refs/pull/7/merge',
};
const token = `${encode({ alg: 'RS256' })}.${encode(claims)}.U0VDUkVULVNJR05BVFVSRQ`;
const role = 'arn:aws:iam::123456789012:role/deploy';
/** What the AWS SDK throws for an unmodelled query-protocol error. */
const sdkError = (name: string, message: string): Error => Object.assign(new Error(message), { name, Code: name, $fault: 'client' });

describe('explainAssumeRoleError', () => {
  test('AccessDenied shows the token claims and a trust policy that would allow them', () => {
    const error = explainAssumeRoleError(sdkError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'), token, role);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain(`Could not assume ${role}`);
    expect(error.message).toContain('AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity');
    for (const line of ['sub: repo:acme/fleet:pull_request', 'aud: sts.amazonaws.com', 'repository: acme/fleet', 'ref: refs/pull/7/merge', 'job_workflow_ref: acme/fleet/.github/workflows/ci.yml@refs/pull/7/merge']) {
      expect(error.message).toContain(line);
    }
    expect(error.message).toContain('"StringLike": { "token.actions.githubusercontent.com:sub": "repo:acme/fleet:environment:production" }');
    expect(error.message).toContain('"StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" }');
    expect(error.message).not.toContain(token.split('.')[2]);
    expect(error.message).not.toContain(token);
  });

  test('an audience problem points at the IAM provider client IDs and the audience input', () => {
    const error = explainAssumeRoleError(Object.assign(new Error('Incorrect token audience'), { name: 'InvalidIdentityTokenException' }), token, role);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(/client IDs \(audiences\) of the IAM OIDC provider for token\.actions\.githubusercontent\.com/);
    expect(error.message).toContain('audience input');
  });

  test('any other invalid token points at the identity provider', () => {
    const error = explainAssumeRoleError(Object.assign(new Error('No OpenIDConnect provider found'), { name: 'InvalidIdentityTokenException' }), token, role);
    expect(error.message).toContain('IAM OIDC identity provider for https://token.actions.githubusercontent.com');
  });

  test('an expired token blames the clock', () => {
    const error = explainAssumeRoleError(Object.assign(new Error('Token expired'), { name: 'ExpiredTokenException' }), token, role);
    expect(error.message).toMatch(/expired.*runner's clock/s);
  });

  test('a too-long session names both fixes', () => {
    const error = explainAssumeRoleError(sdkError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'), token, role);
    expect(error.message).toContain("raise the role's MaxSessionDuration");
  });

  test('other failures keep the original error as the cause', () => {
    const original = sdkError('ServiceUnavailable', 'try later');
    const error = explainAssumeRoleError(original, 'not-a-jwt', role);
    expect(error).not.toBeInstanceOf(UserError);
    expect(error.message).toBe(`Could not assume ${role} with the GitHub OIDC token (ServiceUnavailable: try later).`);
    expect(error.cause).toBe(original);
  });
});
