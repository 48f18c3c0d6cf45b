import { instanceRows } from '../../../src/deploy/aws-ssm/format.js';
import type { InstanceResult } from '../../../src/deploy/aws-ssm/invocations.js';

const result = (instanceId: string, outcome: InstanceResult['outcome'], message: string, after?: string): InstanceResult => ({
  host: 'db',
  instanceId,
  outcome,
  message,
  durationMs: 1000,
  ...(after ? { after } : {}),
});

describe('instanceRows', () => {
  it('lists every instance of every SSM host with its own outcome', () => {
    const rows = instanceRows(
      new Map([
        ['db', [result('i-0a1', 'succeeded', 'switched', '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-db'), result('i-0b2', 'failed', 'ExecutionTimedOut')]],
        ['cache', []],
      ]),
    );
    expect(rows).toEqual([
      ['db', 'i-0a1', 'succeeded', expect.stringContaining('nixos-system-db'), 'switched'],
      ['db', 'i-0b2', 'failed', '', 'ExecutionTimedOut'],
    ]);
  });
});
