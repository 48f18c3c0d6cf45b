import { describe, expect, it } from '@jest/globals';
import { remoteCommand, shellQuote } from '../../../src/deploy/shell-quote.js';
import { exec } from '../../../src/util/exec.js';

const NASTY = [
  '',
  'plain',
  "it's",
  "''",
  'a b',
  '$(touch /tmp/pwned)',
  '`id`',
  '"double" and \\back\\slash',
  'semi;colon && or || pipe | amp &',
  'new\nline',
  '*glob?[x]',
  '~root',
  '-n',
  '$HOME ${PATH}',
  '\t tab',
  'ünïcødé ✓',
  "end with quote'",
];

describe('shellQuote', () => {
  it('leaves plainly safe words bare and single-quotes the rest', () => {
    expect(shellQuote('/nix/store/abc-nixos-system')).toBe('/nix/store/abc-nixos-system');
    expect(shellQuote('--option')).toBe('--option');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('$x')).toBe("'$x'");
  });

  it('refuses NUL, which no shell argument can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow('NUL');
  });

  it('survives a real shell unchanged, argument by argument', async () => {
    // What ssh does on the far side: the login shell parses the one command string.
    const command = remoteCommand(['printf', '%s\\0', ...NASTY]);
    const { stdout } = await exec('/bin/sh', ['-c', command]);
    expect(stdout.split('\0').slice(0, -1)).toEqual(NASTY);
    const viaBash = await exec('/bin/bash', ['-c', command]);
    expect(viaBash.stdout).toBe(stdout);
  });

  it('refuses an empty command', () => {
    expect(() => remoteCommand([])).toThrow('empty remote command');
  });
});
