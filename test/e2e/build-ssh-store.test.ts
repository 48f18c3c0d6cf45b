import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyExampleFleet } from '../support/example-fleet.js';
import { runAction } from '../support/harness.js';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';
import { nixKeyPair } from '../support/keys.js';
import { offlineNixEnv } from '../support/nix.js';

describe('action-build bundle: an ssh:// cache is filled with nix copy, signed with our key', () => {
  let fleet: SimulatedFleet;
  let flake: string;
  const keys = nixKeyPair('fleet-ssh-cache-1');

  beforeAll(async () => {
    [fleet, flake] = await Promise.all([startHosts(1), copyExampleFleet('ssh-store')]);
    // The cache host trusts only our key: unsigned paths are refused (require-sigs is Nix's default).
    await appendFile(join(fleet.hosts[0]!.root, 'etc-nix', 'nix.conf'), `trusted-public-keys = ${keys.public}\n`);
  }, 120_000);
  afterAll(() => fleet?.stop());

  const build = (inputs: Record<string, string>) =>
    runAction('action-build', {
      inputs: { flake: `path:${flake}`, hosts: 'monitor', cache: 'ssh://root@127.0.0.1', ...inputs },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string, NIX_SSHOPTS: fleet.hosts[0]!.nixSshOptions },
    });

  it('signs the closure locally and copies it: the host has it, signed by our key', async () => {
    const signed = await build({ 'signing-key': keys.secret });
    expect(signed.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(signed.exitCode).toBe(0);
    const toplevel = (JSON.parse(signed.outputs['store-paths'] as string) as Record<string, string>).monitor as string;
    const host = fleet.hosts[0]!;
    expect(await host.hasPath(toplevel)).toBe(true);
    const sigs = await host.console(['nix', '--extra-experimental-features', 'nix-command', 'path-info', '--sigs', toplevel]);
    expect(sigs.stdout).toContain('fleet-ssh-cache-1:');
    expect(signed.summary).toMatch(/Copied 16 paths with `nix copy` to ssh:\/\//);
    expect(signed.summary).toContain(`<td>${toplevel}</td>`);
    const log = signed.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    expect(log).not.toContain(keys.secret);
  });
});
