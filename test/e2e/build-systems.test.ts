import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { copyExampleFleet } from '../support/example-fleet.js';
import { runAction } from '../support/harness.js';
import { offlineNixEnv } from '../support/nix.js';

/**
 * A fleet with an ARM host (Mercury's t4g instances): the x86_64 job builds the rest and names the
 * host it leaves to the aarch64-linux job; a job asked for a system its runner cannot build fails
 * before anything is evaluated, saying what to do.
 */
describe('action-build bundle: hosts of another system', () => {
  let flakeDir: string;
  let cacheDir: string;

  beforeAll(async () => {
    [flakeDir, cacheDir] = await Promise.all([copyExampleFleet('e2e-systems'), mkdtemp(join(tmpdir(), 'fleet-systems-cache-'))]);
    const inventory = parseDocument(await readFile(join(flakeDir, 'fleet.yaml'), 'utf8'));
    inventory.setIn(['hosts', 'web2', 'system'], 'aarch64-linux');
    await writeFile(join(flakeDir, 'fleet.yaml'), inventory.toString());
  });

  const build = (inputs: Record<string, string>) =>
    runAction('action-build', {
      inputs: { flake: `path:${flakeDir}`, inventory: join(flakeDir, 'fleet.yaml'), hosts: 'web*', cache: `file://${cacheDir}`, ...inputs },
      env: { NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string },
    });

  it('builds the hosts of its own system and leaves the ARM host to the aarch64-linux job, in outputs, log and summary', async () => {
    const result = await build({});
    expect(result.exitCode).toBe(0);
    expect(Object.keys(JSON.parse(result.outputs['store-paths'] as string) as object)).toEqual(['web1']);
    expect(JSON.parse(result.outputs['other-systems'] as string)).toEqual({ web2: 'aarch64-linux' });
    expect(result.stdout).toMatch(/left to a aarch64-linux build job: web2 \(this job builds x86_64-linux/);
    expect(result.summary).toContain('<th>Host</th><th>System</th><th>Outcome</th>');
    expect(result.summary).toMatch(/<td>web1<\/td><td>x86_64-linux<\/td><td>✅ built<\/td>/);
    expect(result.summary).toContain("Left to other systems' jobs");
    expect(result.summary).toContain('<td>web2</td><td>aarch64-linux</td><td>the aarch64-linux job (or builders with a aarch64-linux machine)</td>');
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
  });

  it('refuses to be the aarch64-linux job on an x86_64 runner without builders, before evaluating or pushing', async () => {
    const before = await readdir(cacheDir);
    const result = await build({ system: 'aarch64-linux' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations.map((a) => a.message)).toContainEqual(
      expect.stringContaining('this runner builds x86_64-linux'),
    );
    expect(result.annotations.map((a) => a.message)).toContainEqual(
      expect.stringContaining('not aarch64-linux: run this job on a aarch64-linux runner, or give builders with a aarch64-linux machine'),
    );
    expect(result.stdout).not.toContain('Building');
    expect(await readdir(cacheDir)).toEqual(before);
  });

  it('refuses a builder whose address ssh would read as an option, naming the input', async () => {
    const result = await build({ builders: 'ssh://-oProxyCommand=sh aarch64-linux' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations.map((a) => a.message)).toContainEqual(expect.stringContaining('Input "builders": machine 1 "ssh://-oProxyCommand=sh aarch64-linux"'));
  });
});
