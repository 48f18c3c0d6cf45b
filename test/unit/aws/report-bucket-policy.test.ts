import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

const policy = JSON.parse(readFileSync(new URL('../../../host/aws/report-bucket-policy.json', import.meta.url), 'utf8')) as { Version: string; Statement: Statement[] };
const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : typeof value === 'string' ? [value] : value);
const OWN_REPORT = 'arn:aws:s3:::BUCKET/fleet/status/${aws:PrincipalTag/fleet-host}.json';
const HOST_TAGGED = { 'aws:PrincipalTag/fleet-host': 'false' };

/** host/aws/report-bucket-policy.json, which host/agent/README.md gives for hosts' report writes to S3. */
describe('the S3 bucket policy for hosts’ report writes', () => {
  it('is a policy document', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(new Set(policy.Statement.map((s) => s.Sid)).size).toBe(policy.Statement.length);
  });

  it('grants one write: a tagged principal of the account puts its own report, nothing with a wildcard', () => {
    const writes = policy.Statement.filter((s) => s.Effect === 'Allow' && list(s.Action).some((a) => !/^s3:Get/.test(a)));
    expect(writes).toHaveLength(1);
    const [write] = writes as [Statement];
    expect(list(write.Action)).toEqual(['s3:PutObject']);
    expect(list(write.Resource)).toEqual([OWN_REPORT]);
    expect(write.NotResource).toBeUndefined();
    expect(write.Condition).toEqual({ StringEquals: { 'aws:PrincipalAccount': 'ACCOUNT_ID' }, Null: HOST_TAGGED });
    for (const statement of policy.Statement.filter((s) => s.Effect === 'Allow')) {
      expect(list(statement.Action).every((a) => !a.includes('*'))).toBe(true);
    }
  });

  it('denies a host every other write, whatever its role policy allows', () => {
    const deny = policy.Statement.find((s) => s.Effect === 'Deny') as Statement;
    expect(list(deny.Action)).toEqual(expect.arrayContaining(['s3:PutObject', 's3:DeleteObject']));
    expect(list(deny.NotResource)).toEqual([OWN_REPORT]);
    expect(deny.Resource).toBeUndefined();
    expect(deny.Condition).toEqual({ Null: HOST_TAGGED });
  });

  it('lets anyone read, and only read', () => {
    const reads = policy.Statement.filter((s) => s.Effect === 'Allow' && s.Principal === '*' && s.Condition === undefined);
    expect(reads.map((s) => [list(s.Action), list(s.Resource)])).toEqual([[['s3:GetObject'], ['arn:aws:s3:::BUCKET/*']]]);
  });
});
