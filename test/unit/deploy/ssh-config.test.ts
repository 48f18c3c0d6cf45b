import { describe, expect, it } from '@jest/globals';
import { normalizePrivateKey } from '../../../src/deploy/ssh/agent.js';
import { checkSshTarget, sshConfigText, targetOptions } from '../../../src/deploy/ssh/config.js';
import { classifySshFailure } from '../../../src/deploy/ssh/session.js';
import type { SshTarget } from '../../../src/fleet/types.js';

const target = (over: Partial<SshTarget> = {}): SshTarget => ({ method: 'ssh', host: 'web1.example.org', port: 22, user: 'root', ...over });

describe('ssh_config', () => {
  it('checks host keys strictly, never prompts and never multiplexes', () => {
    const text = sshConfigText({ knownHostsFile: '/tmp/x/known_hosts', agentSocket: '/tmp/x/agent.sock', connectTimeoutSeconds: 15 });
    for (const line of [
      'BatchMode yes',
      'StrictHostKeyChecking yes',
      'ControlMaster no',
      'ControlPath none',
      'ForwardAgent no',
      'ConnectTimeout 15',
      'UserKnownHostsFile "/tmp/x/known_hosts"',
      'GlobalKnownHostsFile /dev/null',
      'IdentityAgent "/tmp/x/agent.sock"',
      'IdentityFile none',
    ]) {
      expect(text).toContain(`  ${line}\n`);
    }
  });

  it("leaves the user's own keys and known_hosts alone when none are given", () => {
    const text = sshConfigText({ connectTimeoutSeconds: 5 });
    expect(text).not.toContain('IdentityAgent');
    expect(text).not.toContain('UserKnownHostsFile');
    expect(text).toContain('StrictHostKeyChecking yes');
  });

  it('gives the port and the relay as arguments', () => {
    expect(targetOptions(target())).toEqual(['-p', '22']);
    expect(targetOptions(target({ port: 2222, jump: 'relay@relay.example.org:2200' }))).toEqual(['-p', '2222', '-J', 'relay@relay.example.org:2200']);
  });
});

describe('checkSshTarget', () => {
  it('accepts host names, addresses, users and relay chains', () => {
    expect(() => checkSshTarget(target({ host: '10.0.0.7', jump: 'a.example.org,ops@b.example.org:22' }), 'h')).not.toThrow();
    expect(() => checkSshTarget(target({ host: 'fe80::1' }), 'h')).not.toThrow();
    expect(() => checkSshTarget(target({ user: 'deploy' }), 'h')).not.toThrow();
  });

  it('refuses values that would become ssh options or need quoting', () => {
    expect(() => checkSshTarget(target({ host: '-oProxyCommand=x' }), 'h')).toThrow('host "h": deploy host "-oProxyCommand=x" is not valid (example: web1.example.org)');
    expect(() => checkSshTarget(target({ host: 'a b' }), 'h')).toThrow('deploy host');
    expect(() => checkSshTarget(target({ user: '-l' }), 'h')).toThrow('deploy user "-l"');
    expect(() => checkSshTarget(target({ port: 0 }), 'h')).toThrow('deploy port "0"');
    expect(() => checkSshTarget(target({ port: 70000 }), 'h')).toThrow('deploy port');
    expect(() => checkSshTarget(target({ jump: '-J evil' }), 'h')).toThrow('deploy jump "-J evil"');
    expect(() => checkSshTarget(target({ jump: 'a;b' }), 'h')).toThrow('deploy jump');
  });
});

describe('ssh failures', () => {
  it('tells host key trouble, refused logins, dead hosts and dropped connections apart', () => {
    expect(classifySshFailure('Host key verification failed.\r\n')).toBe('host-key');
    expect(classifySshFailure('No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.')).toBe('host-key');
    expect(classifySshFailure('root@127.0.0.1: Permission denied (publickey).')).toBe('auth');
    expect(classifySshFailure('ssh: connect to host 127.0.0.1 port 1: Connection refused')).toBe('refused');
    expect(classifySshFailure('ssh: connect to host 10.1.1.1 port 22: Connection timed out')).toBe('timeout');
    expect(classifySshFailure('Connection to 127.0.0.1 closed by remote host.')).toBe('lost');
  });

  it('repairs keys that lost their final newline or gained CRLFs', () => {
    expect(normalizePrivateKey('-----BEGIN X-----\r\nabc\r\n-----END X-----')).toBe('-----BEGIN X-----\nabc\n-----END X-----\n');
    expect(normalizePrivateKey('\n  k\n\n')).toBe('k\n');
  });
});
