import { describe, expect, it } from '@jest/globals';
import { activationSucceeded, classifyExitCode, logTail, parseActivationState, parseWaitOutput } from '../../../src/deploy/ssh/activation.js';
import { parseHostState } from '../../../src/deploy/ssh/host-state.js';

const SYS = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-a';

describe('parseHostState', () => {
  it('reads the helper state lines', () => {
    const state = parseHostState(
      [
        `current=${SYS}`,
        `booted=${SYS}`,
        `profile=${SYS}`,
        'profile-link=system-42-link',
        'boot-id=7f1c2a8e-8d49-4e8b-9d0e-3a1f0c2b4d5e',
        'free-kib=1048576',
        'systemd=1',
        'present=0',
      ].join('\n'),
    );
    expect(state).toEqual({
      current: SYS,
      booted: SYS,
      profile: SYS,
      generation: 42,
      bootId: '7f1c2a8e-8d49-4e8b-9d0e-3a1f0c2b4d5e',
      freeBytes: 1024 ** 3,
      systemd: true,
      present: false,
    });
  });

  it('leaves out what the host does not have', () => {
    expect(parseHostState('current=\nbooted=\nprofile=\nprofile-link=\nboot-id=x\nfree-kib=\nsystemd=0\n')).toEqual({ bootId: 'x', systemd: false });
  });

  it('reports a busy host and ignores noise', () => {
    expect(parseHostState('motd line\nbusy=lq2-ab12cd34\nsystemd=0\npresent=1')).toEqual({ systemd: false, present: true, busy: 'lq2-ab12cd34' });
  });
});

describe('activation states', () => {
  it('parses every state the helper writes', () => {
    expect(parseActivationState('starting')).toEqual({ phase: 'starting' });
    expect(parseActivationState('activated 4')).toEqual({ phase: 'activated', code: 4 });
    expect(parseActivationState('done 0')).toEqual({ phase: 'done', code: 0 });
    expect(parseActivationState('confirmed 100')).toEqual({ phase: 'confirmed', code: 100 });
    expect(parseActivationState('rolling-back 1 abort')).toEqual({ phase: 'rolling-back', code: 1, reason: 'abort' });
    expect(parseActivationState('rolled-back 0 timeout 0')).toEqual({ phase: 'rolled-back', code: 0, reason: 'timeout', rollbackCode: 0 });
    expect(parseActivationState('refused busy')).toEqual({ phase: 'refused' });
    expect(parseActivationState('missing')).toEqual({ phase: 'missing' });
  });

  it('refuses what it does not know', () => {
    expect(() => parseActivationState('exploded')).toThrow('unexpected activation state "exploded"');
    expect(() => parseActivationState('activated x')).toThrow('unexpected activation state');
  });

  it('splits wait output into state, host and log', () => {
    const out = ['state=rolled-back 1 abort 0', '--- host', `current=${SYS}`, 'systemd=0', '--- log', 'error: the activation script failed', '--- host', 'fleet: rollback exited with 0', ''].join('\n');
    const result = parseWaitOutput(out);
    expect(result.state).toEqual({ phase: 'rolled-back', code: 1, reason: 'abort', rollbackCode: 0 });
    expect(result.host).toEqual({ current: SYS, systemd: false });
    // Anything after `--- log` is the log, even a line that looks like a header.
    expect(result.log).toBe('error: the activation script failed\n--- host\nfleet: rollback exited with 0');
  });

  it('has no host section for a plain wait', () => {
    expect(parseWaitOutput('state=activating\n')).toEqual({ state: { phase: 'activating' }, log: '' });
  });

  it('complains when the helper printed no state', () => {
    expect(() => parseWaitOutput('sh: 1: /run/fleet/activate.sh: not found\n')).toThrow("the host's helper printed no state: sh: 1:");
  });

  it('classifies switch-to-configuration exit codes as NixOS means them', () => {
    expect([0, 4, 100, 124, 137, 1, 2, 127].map(classifyExitCode)).toEqual(['ok', 'degraded', 'needs-reboot', 'timed-out', 'timed-out', 'failed', 'failed', 'failed']);
    expect([0, 4, 100].every(activationSucceeded)).toBe(true);
    expect([1, 124, 3].some(activationSucceeded)).toBe(false);
  });

  it('keeps the last meaningful log lines for messages', () => {
    expect(logTail('a\n\nfleet: switch-to-configuration switch exited with 1\nb\nc\nd\n')).toBe('b / c / d');
    expect(logTail('', 2)).toBe('');
  });
});
