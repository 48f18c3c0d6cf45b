import { attributeBuildErrors, drvPathsIn, failedBuilders, parseBuildJson } from '../../../src/nix/build-report.js';
import { hintFor, NixCommandError, parseErrorBlocks } from '../../../src/nix/errors.js';

const BAD = '/nix/store/8ayif2jimnn462zcnc92vp98x58nmdbg-bad-0.1.drv';
const BAD2 = '/nix/store/wv12pxvh8xfnma4yymlkd5xqn86z76lw-bad2-0.1.drv';
const C = '/nix/store/bnnrwk6fk6p2wa0xbf891dwil3ly0i5p-c-1.drv';
const D = '/nix/store/2yf2a99zkrrv64h16xchclna4asz29kb-d-1.drv';
const A = '/nix/store/h8r4a4nv5hzj1qn8iqf821v0fwql20ny-a-1.0.drv';

// Nix 2.8, `nix build --keep-going` of a, c (needs bad and bad2), d (needs bad).
const STDERR_2_8 = `building '${A}'...
building '${BAD}'...
error: builder for '${BAD}' failed with exit code 3;
       last 1 log lines:
       > failing now
       For full logs, run 'nix log ${BAD}'.
building '${BAD2}'...
error: builder for '${BAD2}' failed with exit code 4;
       last 1 log lines:
       > failing2
       For full logs, run 'nix log ${BAD2}'.
error: 2 dependencies of derivation '${C}' failed to build
`;

// Newer Nix (2.29+) wording: d's builder never ran ("1 dependency failed"). Real output of both versions: real-output.test.ts.
const STDERR_NEW = `error: Cannot build '${BAD}'.
       Reason: builder failed with exit code 3.
       Output paths:
         /nix/store/3zp69575j1i88bfrd2vbaxgnw6lzzb6p-bad-0.1
       Last 1 log lines:
       > failing now
       For full logs, run:
         nix log ${BAD}
error: Cannot build '${D}'.
       Reason: 1 dependency failed.
       Output paths:
         /nix/store/2cv9sphbw4bdzqqi24r9wbhc41lrjb38-d-1
error: Build failed due to failed dependency
`;

describe('parseBuildJson', () => {
  it('reads derivation outputs and plain store paths', () => {
    const out = parseBuildJson(
      `[{"drvPath":"${A}","outputs":{"out":"/nix/store/kq7z1k2kisnsmdz8bbdl5zkbb4jzwc2c-a-1.0"}},{"path":"/nix/store/kq7z1k2kisnsmdz8bbdl5zkbb4jzwc2c-a-1.0"}]`,
    );
    expect(out).toEqual([
      { drvPath: A, outputs: { out: '/nix/store/kq7z1k2kisnsmdz8bbdl5zkbb4jzwc2c-a-1.0' } },
      { outputs: { out: '/nix/store/kq7z1k2kisnsmdz8bbdl5zkbb4jzwc2c-a-1.0' } },
    ]);
  });

  it('accepts base-name paths, timing fields and unknown (floating CA) outputs', () => {
    const out = parseBuildJson(
      '[{"drvPath":"h8r4a4nv5hzj1qn8iqf821v0fwql20ny-a-1.0.drv","outputs":{"out":"kq7z1k2kisnsmdz8bbdl5zkbb4jzwc2c-a-1.0","dev":null},"startTime":1,"stopTime":2}]',
    );
    expect(out[0]).toEqual({ drvPath: A, outputs: { out: '/nix/store/kq7z1k2kisnsmdz8bbdl5zkbb4jzwc2c-a-1.0' } });
  });

  it('rejects other output', () => {
    expect(() => parseBuildJson('{}')).toThrow(/no array/);
    expect(() => parseBuildJson('[3]')).toThrow(/unexpected/);
  });
});

describe('error attribution', () => {
  it('splits stderr into error blocks', () => {
    const blocks = parseErrorBlocks(STDERR_2_8);
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toContain('> failing now');
    expect(blocks[0]).not.toContain('building');
    expect(blocks[2]).toBe(`error: 2 dependencies of derivation '${C}' failed to build`);
  });

  it('strips colours', () => {
    expect(parseErrorBlocks('\u001b[31;1merror:\u001b[0m boom\n')).toEqual(['error: boom']);
  });

  it('finds failed builders in old and new wording', () => {
    expect(failedBuilders(STDERR_2_8)).toEqual([BAD, BAD2]);
    expect(failedBuilders(STDERR_NEW)).toEqual([BAD]);
    expect(drvPathsIn(`error: 2 dependencies of derivation '${C}' failed`)).toEqual([C]);
  });

  it('gives each installable the errors of its own closure', () => {
    // d needs bad only; Nix 2.8 prints no line about d at all.
    const d = attributeBuildErrors(STDERR_2_8, new Set([D, BAD, A]));
    expect(d.failedDrvs).toEqual([BAD]);
    expect(d.error).toContain('failing now');
    expect(d.error).not.toContain('failing2');

    const c = attributeBuildErrors(STDERR_2_8, new Set([C, BAD, BAD2]));
    expect(c.failedDrvs).toEqual([BAD, BAD2]);
    expect(c.error).toContain('failing2');
    expect(c.error).toContain('2 dependencies of derivation');
  });

  it('falls back to errors that name no derivation', () => {
    const r = attributeBuildErrors(`building '${A}'...\nerror: writing to file: No space left on device\n`, new Set([A]));
    expect(r).toEqual({ error: 'error: writing to file: No space left on device', failedDrvs: [] });
    expect(attributeBuildErrors(STDERR_2_8, new Set(['/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-x.drv'])).error).toBe('');
  });
});

describe('NixCommandError', () => {
  it('shows the error lines, not the progress, and a hint', () => {
    const err = new NixCommandError('nix build x', 1, STDERR_2_8, hintFor('No space left on device'));
    expect(err.message).toMatch(/^nix build x failed \(exit code 1\):\nerror: builder for/);
    expect(err.message).not.toContain("building '");
    expect(err.message).toMatch(/disk is full/);
  });

  it('knows common situations', () => {
    expect(hintFor("error: experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override")).toMatch(/experimental-features/);
    expect(hintFor("error: flake 'path:/x' does not provide attribute 'packages.x86_64-linux.y'")).toMatch(/nix flake show/);
    expect(hintFor('error: something new')).toBeUndefined();
  });
});
