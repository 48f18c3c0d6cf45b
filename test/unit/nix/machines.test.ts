import { parseMachines } from '../../../src/nix/machines.js';

describe('remote build machines (the builders input)', () => {
  it('reads machine lines as Nix does: newlines or ";", comments, "-" for the default systems', () => {
    expect(parseMachines('ssh-ng://builder@arm1.example.org aarch64-linux /root/.ssh/builder 4 # the big one\nssh://arm2:2222 aarch64-linux,armv7l-linux ; ssh://x86.example.org -')).toEqual([
      { uri: 'ssh-ng://builder@arm1.example.org', systems: ['aarch64-linux'], line: 'ssh-ng://builder@arm1.example.org aarch64-linux /root/.ssh/builder 4' },
      { uri: 'ssh://arm2:2222', systems: ['aarch64-linux', 'armv7l-linux'], line: 'ssh://arm2:2222 aarch64-linux,armv7l-linux' },
      { uri: 'ssh://x86.example.org', systems: [], line: 'ssh://x86.example.org -' },
    ]);
    expect(parseMachines('\n# none yet\n')).toEqual([]);
  });

  it('refuses what ssh would read as an option, files, and bad systems, naming the machine', () => {
    expect(() => parseMachines('ssh://-oProxyCommand=sh aarch64-linux')).toThrow('machine 1 "ssh://-oProxyCommand=sh aarch64-linux": "ssh://-oProxyCommand=sh" is not an ssh:// or ssh-ng:// builder address');
    expect(() => parseMachines('ssh://ok aarch64-linux\nssh://-o@arm1 aarch64-linux')).toThrow(/^machine 2 /);
    expect(() => parseMachines('@/etc/nix/machines')).toThrow('give the machine lines themselves, not a file (@/etc/nix/machines)');
    expect(() => parseMachines('arm1.example.org aarch64-linux')).toThrow('is not an ssh:// or ssh-ng:// builder address');
    expect(() => parseMachines('ssh://arm1 aarch64 linux')).toThrow('"aarch64" is not a Nix system');
  });
});
