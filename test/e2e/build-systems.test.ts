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
    expect(result.stdout).toMatch(/left to the aarch64-linux build job: web2 \(this job builds x86_64-linux/);
    expect(result.summary).toContain('<th>Host</th><th>System</th><th>Outcome</th>');
    expect(result.summary).toMatch(/<td>web1<\/td><td>x86_64-linux<\/td><td>✅ built<\/td>/);
    expect(result.summary).toContain("Left to other systems' jobs");
    expect(result.summary).toContain('<td>web2</td><td>aarch64-linux</td><td>the aarch64-linux job (or builders with an aarch64-linux machine)</td>');
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
      expect.stringContaining('not aarch64-linux: run this job on an aarch64-linux runner, or give builders with an aarch64-linux machine'),
    );
    expect(result.stdout).not.toContain('Building');
    expect(await readdir(cacheDir)).toEqual(before);
  });

  it('refuses a builder whose address ssh would read as an option, naming the input', async () => {
    const result = await build({ builders: 'ssh://-oProxyCommand=sh aarch64-linux' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations.map((a) => a.message)).toContainEqual(expect.stringContaining('Input "builders": machine 1 "ssh://-oProxyCommand=sh aarch64-linux"'));
  });

  describe('plan: true (build.yml\'s plan job)', () => {
    const plan = (inputs: Record<string, string>) => build({ plan: 'true', hosts: '', cache: '', ...inputs });

    it('plans one build job per system and shard, each on its system\'s runner, and builds nothing', async () => {
      const result = await plan({ shards: '2' });
      expect(result.exitCode).toBe(0);
      const legs = JSON.parse(result.outputs.legs as string) as { system: string; 'runs-on': string; hosts: string }[];
      expect(legs.map((l) => l.system)).toEqual(['x86_64-linux', 'x86_64-linux', 'aarch64-linux']);
      expect(legs.filter((l) => l.system === 'aarch64-linux')).toEqual([{ system: 'aarch64-linux', 'runs-on': 'ubuntu-24.04-arm', hosts: 'web2' }]);
      const x86 = legs.filter((l) => l.system === 'x86_64-linux');
      expect(x86.every((l) => l['runs-on'] === 'ubuntu-latest')).toBe(true);
      // Every x86_64 host of the inventory is in exactly one job.
      const planned = x86.flatMap((l) => l.hosts.split(','));
      expect(new Set(planned).size).toBe(planned.length);
      expect(planned).not.toContain('web2');
      expect(planned).toEqual(expect.arrayContaining(['web1', 'db1', 'monitor']));
      expect(result.summary).toContain('<th>Job</th><th>System</th><th>Runner</th><th>Hosts</th>');
      expect(result.summary).toMatch(/<td>3<\/td><td>aarch64-linux<\/td><td>ubuntu-24.04-arm<\/td><td>web2<\/td>/);
      expect(result.stdout).not.toContain('Building');
      expect(result.outputs['store-paths']).toBeUndefined();
    });

    it('resolves selectors to host names and takes runner lists from the runners input', async () => {
      const result = await plan({ hosts: 'web*', runners: 'x86_64-linux: [self-hosted, X64, nix]\naarch64-linux: ubuntu-24.04-arm' });
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.outputs.legs as string)).toEqual([
        { system: 'x86_64-linux', 'runs-on': ['self-hosted', 'X64', 'nix'], hosts: 'web1' },
        { system: 'aarch64-linux', 'runs-on': 'ubuntu-24.04-arm', hosts: 'web2' },
      ]);
    });

    it('fails, saying what to add, when a system present has no runner', async () => {
      const result = await plan({ runners: 'x86_64-linux: ubuntu-latest' });
      expect(result.exitCode).toBe(1);
      expect(result.annotations.map((a) => a.message)).toContainEqual(
        expect.stringContaining('no runner for aarch64-linux (hosts web2): add a line such as "aarch64-linux: <runner label>" to the runners input'),
      );
      expect(result.outputs.legs).toBeUndefined();
    });

    it('plans no job for hosts: none', async () => {
      const result = await plan({ hosts: 'none' });
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.outputs.legs as string)).toEqual([]);
    });
  });
});
