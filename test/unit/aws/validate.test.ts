import { UserError } from '../../../src/util/errors.js';
import { defaultSessionName, parseRoleArn, validateDurationSeconds, validateRegion, validateSessionName } from '../../../src/aws/validate.js';

describe('parseRoleArn', () => {
  test.each([
    ['arn:aws:iam::123456789012:role/fleet-cache-writer', { partition: 'aws', accountId: '123456789012', path: '/', roleName: 'fleet-cache-writer' }],
    ['arn:aws:iam::123456789012:role/ci/github/deploy', { partition: 'aws', accountId: '123456789012', path: '/ci/github/', roleName: 'deploy' }],
    ['arn:aws-cn:iam::123456789012:role/a+b=c,d.e@f_g-h', { partition: 'aws-cn', accountId: '123456789012', path: '/', roleName: 'a+b=c,d.e@f_g-h' }],
    ['arn:aws-us-gov:iam::123456789012:role/x', { partition: 'aws-us-gov', accountId: '123456789012', path: '/', roleName: 'x' }],
  ])('accepts %s', (arn, parts) => {
    expect(parseRoleArn(arn)).toEqual(parts);
  });

  test.each([
    ['', 'is empty'],
    ['fleet-cache-writer', 'bare role name'],
    ['arn:aws:iam::12345:role/x', '12-digit account ID'],
    ['arn:aws:iam::123456789012:user/alice', 'names an IAM user'],
    ['arn:aws:sts::123456789012:assumed-role/deploy/session', 'assumed-role session ARN'],
    ['arn:aws:s3:::bucket', 'is not an IAM role ARN'],
    [`arn:aws:iam::123456789012:role/${'x'.repeat(65)}`, 'is not an IAM role ARN'],
  ])('rejects %j, naming the input, the problem and an example', (arn, problem) => {
    let caught: unknown;
    try {
      parseRoleArn(arn);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    const message = (caught as Error).message;
    expect(message).toContain('role-to-assume');
    expect(message).toContain(problem);
    expect(message).toContain('Example: arn:aws:iam::123456789012:role/');
  });

  test('names the caller input', () => {
    expect(() => parseRoleArn('nope', 'cache-role')).toThrow(/Input cache-role/);
  });
});

describe('validateDurationSeconds', () => {
  test.each([900, 3600, 43_200])('accepts %d', (value) => expect(validateDurationSeconds(value)).toBe(value));
  test.each([899, 43_201, 0, -1, 1800.5, Number.NaN])('rejects %d with the allowed range', (value) => {
    expect(() => validateDurationSeconds(value)).toThrow(/role-duration-seconds.*from 900 \(15 minutes\) to 43200 \(12 hours\)/);
  });
});

describe('session names and regions', () => {
  test('session names follow STS rules', () => {
    expect(validateSessionName('fleet-deploy-1234')).toBe('fleet-deploy-1234');
    expect(() => validateSessionName('x')).toThrow(/2 to 64/);
    expect(() => validateSessionName('has space')).toThrow(/role-session-name/);
    expect(() => validateSessionName('a'.repeat(65))).toThrow(/2 to 64/);
  });

  test('the default session name carries the run id and attempt and is always valid', () => {
    expect(defaultSessionName({ GITHUB_RUN_ID: '4242', GITHUB_RUN_ATTEMPT: '2' })).toBe('fleet-4242-2');
    expect(validateSessionName(defaultSessionName({}))).toMatch(/^fleet-local-\d+$/);
    expect(validateSessionName(defaultSessionName({ GITHUB_RUN_ID: 'weird id/with:chars'.repeat(5) }))).toHaveLength(64);
  });

  test('regions', () => {
    for (const region of ['us-east-1', 'eu-central-1', 'us-gov-west-1', 'ap-southeast-2', 'cn-north-1']) expect(validateRegion(region)).toBe(region);
    for (const region of ['', 'US-EAST-1', 'eu-central', 'frankfurt']) expect(() => validateRegion(region)).toThrow(/aws-region.*Example: eu-central-1/);
  });
});
