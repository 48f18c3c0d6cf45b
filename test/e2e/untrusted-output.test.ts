import { randomUUID } from 'node:crypto';
import { runAction, type ActionResult } from '../support/harness.js';
import { cleanupFreshStores, offlineNixEnv, shDerivation, writeFlake } from '../support/nix.js';

// What a pull request's flake can make Nix print: commands the runner would obey if fleet passed them on.
const HOSTILE = ['::error::owned', '::add-mask::nixos', '::set-output name=store-paths::owned', '##[warning]owned the old way', '::stop-commands::guess', '::guess::', '::notice::owned after a guess'];
const printHostile = `${HOSTILE.map((line) => `echo '${line}' >&2`).join('; ')}; exit 1`;
// One nonce per run so the failing builds run for real, not answered from an earlier run.
const nonce = randomUUID().slice(0, 8);
const flakeNix = `{
  outputs = { self }: {
    nixosConfigurations = {
      traced = { config.system.build.toplevel = builtins.trace ${JSON.stringify(`fleet trace\n${HOSTILE.join('\n')}`)} (${shDerivation(`nixos-system-traced-${nonce}`, 'mkdir $out')}); };
      noisy = { config.system.build.toplevel = ${shDerivation(`nixos-system-noisy-${nonce}`, printHostile)}; };
    };
    checks.x86_64-linux.vm-noisy = ${shDerivation(`vm-noisy-${nonce}`, `echo booting; ${printHostile.replace(/ >&2/g, '')}`)};
  };
}`;

describe('action-build bundle: workflow commands in Nix output are shown, never obeyed', () => {
  let flake: Awaited<ReturnType<typeof writeFlake>>;
  let result: ActionResult;

  beforeAll(async () => {
    flake = await writeFlake({ 'flake.nix': flakeNix });
    result = await runAction('action-build', { inputs: { flake: flake.ref, checks: 'vm-*' }, env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string } });
  });
  afterAll(async () => {
    await Promise.all([flake?.cleanup(), cleanupFreshStores()]);
  });

  it('fails for the broken host and test, with annotations written by fleet only', () => {
    expect(result.exitCode).toBe(1);
    const messages = result.annotations.map((a) => a.message);
    expect(messages.at(-1)).toContain('failed to build: noisy');
    expect(messages).not.toContainEqual(expect.stringMatching(/^owned/));
    expect(result.annotations.filter((a) => a.level === 'notice')).toEqual([]);
  });

  it('creates no mask and no output from the text', () => {
    expect(result.masks).not.toContain('nixos');
    expect(result.commands.filter((c) => c.name === 'set-output')).toEqual([]);
    expect(JSON.parse(result.outputs['store-paths'] as string)).toEqual({ traced: expect.stringContaining('nixos-system-traced') });
  });

  it('still shows the text in the log, inside stop-commands blocks', () => {
    expect(result.stdout).toContain('::group::nix log of failed check vm-noisy');
    expect(result.stdout).toMatch(/^::error::owned$/m);
    expect(result.stdout).toContain('##[warning]owned the old way');
    expect(result.stdout).toMatch(/^::stop-commands::[0-9a-f]{32}$/m);
  });
});
