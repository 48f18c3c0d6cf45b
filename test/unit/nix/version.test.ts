import {
  derivationShowCommand,
  formatNixVersion,
  nixAtLeast,
  parseNixVersion,
  pathInfoJsonIsObject,
  supportsFlakeUpdateInputs,
  supportsPathInfoJsonFormat,
} from '../../../src/nix/version.js';

describe('parseNixVersion', () => {
  it('reads upstream Nix', () => {
    const v = parseNixVersion('nix (Nix) 2.8.0\n');
    expect(v).toMatchObject({ flavor: 'nix', major: 2, minor: 8, patch: 0, text: 'nix (Nix) 2.8.0' });
    expect(formatNixVersion(parseNixVersion('nix (Nix) 2.24.10'))).toBe('2.24.10');
  });

  it('reads pre-release and two-part versions', () => {
    expect(parseNixVersion('nix (Nix) 2.25.0pre20241101_dirty')).toMatchObject({ major: 2, minor: 25, patch: 0 });
    expect(parseNixVersion('nix (Nix) 2.3')).toMatchObject({ major: 2, minor: 3, patch: 0 });
  });

  it('reads Determinate Nix by its upstream version', () => {
    const v = parseNixVersion('nix (Determinate Nix 3.1.0) 2.26.3');
    expect(v).toMatchObject({ flavor: 'determinate', major: 2, minor: 26, patch: 3, productVersion: '3.1.0' });
    expect(supportsFlakeUpdateInputs(v)).toBe(true);
  });

  it('treats Lix as the Nix 2.18 it forked from', () => {
    const v = parseNixVersion('nix (Lix, like Nix) 2.91.1');
    expect(v).toMatchObject({ flavor: 'lix', major: 2, minor: 18, productVersion: '2.91.1' });
    expect(pathInfoJsonIsObject(v)).toBe(false);
  });

  it('fails on output that is not a version, saying what it expected', () => {
    expect(() => parseNixVersion('bash: nix: command not found')).toThrow(/cannot read the Nix version.*nix \(Nix\) 2\.24\.10/);
    expect(() => parseNixVersion('')).toThrow(/cannot read the Nix version/);
  });
});

describe('feature checks', () => {
  const v = (text: string) => parseNixVersion(`nix (Nix) ${text}`);

  it('compares versions numerically', () => {
    expect(nixAtLeast(v('2.10.0'), 2, 9)).toBe(true);
    expect(nixAtLeast(v('2.8.0'), 2, 19)).toBe(false);
    expect(nixAtLeast(v('2.19.0'), 2, 19)).toBe(true);
    expect(nixAtLeast(v('2.19.2'), 2, 19, 3)).toBe(false);
    expect(nixAtLeast(v('3.0.0'), 2, 99)).toBe(true);
  });

  it('knows when `nix flake update INPUT` updates one input', () => {
    expect(supportsFlakeUpdateInputs(v('2.8.0'))).toBe(false);
    expect(supportsFlakeUpdateInputs(v('2.18.9'))).toBe(false);
    expect(supportsFlakeUpdateInputs(v('2.19.0'))).toBe(true);
  });

  it('knows the path-info JSON shape and flags', () => {
    expect(pathInfoJsonIsObject(v('2.8.0'))).toBe(false);
    expect(pathInfoJsonIsObject(v('2.24.10'))).toBe(true);
    expect(supportsPathInfoJsonFormat(v('2.32.0'))).toBe(false);
    expect(supportsPathInfoJsonFormat(v('2.33.0'))).toBe(true);
    expect(derivationShowCommand(v('2.8.0'))).toEqual(['show-derivation']);
    expect(derivationShowCommand(v('2.24.0'))).toEqual(['derivation', 'show']);
  });
});
