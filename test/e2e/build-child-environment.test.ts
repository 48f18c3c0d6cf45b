import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/util/exec.js';
import { copyExampleFleet } from '../support/example-fleet.js';
import { runAction } from '../support/harness.js';
import { nixKeyPair } from '../support/keys.js';
import { offlineNixEnv } from '../support/nix.js';

const RUNNER_TOKENS = {
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token-e2e',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/token?api-version=2.0',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token-e2e',
};

describe('action-build: the environment of its nix children', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fleet-build-env-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** A nix in front of the real one: it keeps the environment it was started with, then runs nix. */
  async function recordingNix(name: string): Promise<{ bin: string; environments: () => Promise<string[][]> }> {
    const realNix = (await exec('sh', ['-c', 'command -v nix'])).stdout.trim();
    const bin = join(work, name, 'bin');
    const dumps = join(work, name, 'environments');
    await Promise.all([mkdir(bin, { recursive: true }), mkdir(dumps, { recursive: true })]);
    await writeFile(join(bin, 'nix'), `#!/bin/sh\ncat /proc/$$/environ > "${dumps}/$$"\nexec ${realNix} "$@"\n`);
    await chmod(join(bin, 'nix'), 0o755);
    return { bin, environments: async () => Promise.all((await readdir(dumps)).map(async (f) => (await readFile(join(dumps, f), 'utf8')).split('\0').filter(Boolean))) };
  }

  const build = async (name: string, nix: { bin: string }, env: Record<string, string> = {}) => {
    const flakeDir = await copyExampleFleet(`e2e-child-env-${name}`);
    return runAction('action-build', {
      inputs: { flake: `path:${flakeDir}`, inventory: join(flakeDir, 'fleet.yaml'), hosts: 'web1', cache: `file://${join(work, name, 'cache')}`, 'signing-key': signingKey },
      env: { PATH: `${nix.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string, ...RUNNER_TOKENS, ...env },
    });
  };
  const signingKey = nixKeyPair().secret;

  it('holds no input (the signing key among them) and no runner token', async () => {
    const nix = await recordingNix('secrets');
    const result = await build('secrets', nix);
    expect(result.exitCode).toBe(0);

    const environments = await nix.environments();
    expect(environments.length).toBeGreaterThan(0);
    for (const environment of environments) {
      expect(environment.filter((entry) => /^(INPUT_|ACTIONS_ID_TOKEN_REQUEST_|ACTIONS_RUNTIME_TOKEN)/i.test(entry))).toEqual([]);
      expect(environment.join('\n')).not.toContain(signingKey.split(':')[1]);
      expect(environment).toContainEqual(expect.stringMatching(/^NIX_CONFIG=/));
    }
  }, 120_000);

  it("holds the runner's proxy as libcurl reads it (lowercase, loopback direct), whose password the log masks", async () => {
    const nix = await recordingNix('proxy');
    const proxy = 'http://runner:pr0xy%21pass@proxy.invalid:3128';
    const result = await build('proxy', nix, { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, NO_PROXY: 'cache.lan' });
    expect(result.exitCode).toBe(0);
    expect(result.masks).toEqual(expect.arrayContaining(['pr0xy%21pass', 'pr0xy!pass']));

    const environments = await nix.environments();
    expect(environments.length).toBeGreaterThan(0);
    for (const environment of environments) {
      expect(environment).toEqual(expect.arrayContaining([`http_proxy=${proxy}`, `https_proxy=${proxy}`, 'no_proxy=cache.lan,localhost,127.0.0.0/8,::1']));
    }
  }, 120_000);
});
