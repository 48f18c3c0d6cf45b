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

  it('holds no input (the signing key among them) and no runner token', async () => {
    // A nix in front of the real one: it keeps the environment it was started with, then runs nix.
    const realNix = (await exec('sh', ['-c', 'command -v nix'])).stdout.trim();
    const bin = join(work, 'bin');
    const dumps = join(work, 'environments');
    await Promise.all([mkdir(bin), mkdir(dumps)]);
    await writeFile(join(bin, 'nix'), `#!/bin/sh\ncat /proc/$$/environ > "${dumps}/$$"\nexec ${realNix} "$@"\n`);
    await chmod(join(bin, 'nix'), 0o755);
    const flakeDir = await copyExampleFleet('e2e-child-env');
    const signingKey = nixKeyPair().secret;

    const result = await runAction('action-build', {
      inputs: { flake: `path:${flakeDir}`, inventory: join(flakeDir, 'fleet.yaml'), hosts: 'web1', cache: `file://${join(work, 'cache')}`, 'signing-key': signingKey },
      env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NIX_CONFIG: offlineNixEnv().NIX_CONFIG as string, ...RUNNER_TOKENS },
    });
    expect(result.exitCode).toBe(0);

    const environments = await Promise.all((await readdir(dumps)).map(async (f) => (await readFile(join(dumps, f), 'utf8')).split('\0').filter(Boolean)));
    expect(environments.length).toBeGreaterThan(0);
    for (const environment of environments) {
      expect(environment.filter((entry) => /^(INPUT_|ACTIONS_ID_TOKEN_REQUEST_|ACTIONS_RUNTIME_TOKEN)/i.test(entry))).toEqual([]);
      expect(environment.join('\n')).not.toContain(signingKey.split(':')[1]);
      expect(environment).toContainEqual(expect.stringMatching(/^NIX_CONFIG=/));
    }
  }, 120_000);
});
