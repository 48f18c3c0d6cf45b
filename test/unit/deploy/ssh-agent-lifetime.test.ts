import { agentKeyLifetimeSeconds } from '../../../src/deploy/ssh/agent.js';
import { parseSshSessionRecord } from '../../../src/deploy/ssh/leftovers.js';
import { DEFAULT_DEPLOY_SETTINGS } from '../../../src/deploy/types.js';

describe('the deploy key lifetime in the agent', () => {
  it('outlasts the longest command a deploy waits on, with five minutes to spare', () => {
    // Defaults: activation 10m twice, confirm 90s, a minute of slack: 22.5 min.
    expect(agentKeyLifetimeSeconds(DEFAULT_DEPLOY_SETTINGS)).toBe(22.5 * 60 + 300);
    expect(agentKeyLifetimeSeconds({ ...DEFAULT_DEPLOY_SETTINGS, rebootTimeoutMs: 2 * 3600_000 })).toBe(2 * 3600 + 300);
    expect(agentKeyLifetimeSeconds({ ...DEFAULT_DEPLOY_SETTINGS, healthChecks: [{ command: 'soak', timeoutMs: 3600_000 }] })).toBe(3600 + 30 + 300);
  });

  it('is at least ten minutes and at most six hours', () => {
    expect(agentKeyLifetimeSeconds({ activationTimeoutMs: 1000, confirmTimeoutMs: 1000, rebootTimeoutMs: 1000, healthChecks: [] })).toBe(600);
    expect(agentKeyLifetimeSeconds({ ...DEFAULT_DEPLOY_SETTINGS, rebootTimeoutMs: 30 * 24 * 3600_000 })).toBe(6 * 3600);
  });
});

describe('the recorded ssh session', () => {
  it('reads what the main step saved', () => {
    expect(parseSshSessionRecord('{"dir":"/tmp/fleet-ssh-AbC123"}')).toEqual({ dir: '/tmp/fleet-ssh-AbC123' });
    expect(parseSshSessionRecord('{"dir":"/tmp/fleet-ssh-AbC123","agentPid":4242}')).toEqual({ dir: '/tmp/fleet-ssh-AbC123', agentPid: 4242 });
  });

  it('ignores nothing saved, text that is not a record, and pids that cannot be an agent of ours', () => {
    expect(parseSshSessionRecord('')).toBeUndefined();
    expect(parseSshSessionRecord('not json')).toBeUndefined();
    expect(parseSshSessionRecord('{"agentPid":4242}')).toBeUndefined();
    expect(parseSshSessionRecord('{"dir":"/tmp/fleet-ssh-AbC123","agentPid":1}')).toEqual({ dir: '/tmp/fleet-ssh-AbC123' });
    expect(parseSshSessionRecord('{"dir":"/tmp/fleet-ssh-AbC123","agentPid":"-1"}')).toEqual({ dir: '/tmp/fleet-ssh-AbC123' });
  });
});
