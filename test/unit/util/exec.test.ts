import { childEnvironment, exec, spawnProcess } from '../../../src/util/exec.js';

/** Every value carries a mark no other variable has. */
const MARK = 'Q7fleetRunnerSecretX';
const RUNNER_SECRETS = {
  'INPUT_SSH-PRIVATE-KEY': `-----BEGIN OPENSSH PRIVATE KEY-----\n${MARK}\n-----END OPENSSH PRIVATE KEY-----`,
  'INPUT_GITHUB-TOKEN': `ghs_${MARK}`,
  'INPUT_SIGNING-KEY': `cache-1:${MARK}`,
  'INPUT_MANIFEST-SIGNING-KEY': `manifests-1:${MARK}`,
  INPUT_HOSTS: `all${MARK}`,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: `oidc-${MARK}`,
  ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:1/token?x=${MARK}`,
  ACTIONS_RUNTIME_TOKEN: `runtime-${MARK}`,
};

/** The environment a real child sees, from `env -0` (values may hold newlines). */
async function environmentOfChild(env?: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const { stdout } = await exec('env', ['-0'], env ? { env } : {});
  return Object.fromEntries(
    stdout
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

describe('children never get the runner secrets', () => {
  const saved = { ...process.env };
  beforeEach(() => Object.assign(process.env, RUNNER_SECRETS, { FLEET_TEST_KEPT: 'kept' }));
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  });

  it('drops every INPUT_* and the Actions tokens from the inherited environment', async () => {
    const seen = await environmentOfChild();
    expect(Object.keys(seen).filter((name) => name in RUNNER_SECRETS)).toEqual([]);
    expect(Object.values(seen).join('\n')).not.toContain(MARK);
    expect(seen.FLEET_TEST_KEPT).toBe('kept');
    expect(seen.PATH).toBe(process.env.PATH);
  });

  it('drops them from an environment a call site builds from process.env', async () => {
    const seen = await environmentOfChild({ ...process.env, SSH_AUTH_SOCK: '/tmp/agent.sock' });
    expect(Object.keys(seen).filter((name) => name in RUNNER_SECRETS)).toEqual([]);
    expect(seen.SSH_AUTH_SOCK).toBe('/tmp/agent.sock');
  });

  it('drops them from a streaming child too, unless that child is an action step', async () => {
    const read = (child: ReturnType<typeof spawnProcess>) =>
      new Promise<string>((resolve) => {
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
        child.on('close', () => resolve(out));
        child.stdin.end();
      });
    expect(await read(spawnProcess('env', []))).not.toContain('INPUT_');
    // The local runner starts the action itself, which reads its inputs from INPUT_*.
    expect(await read(spawnProcess('env', [], { actionStep: true }))).toContain('INPUT_SSH-PRIVATE-KEY=');
  });

  it('is case-blind, as Windows runners name variables either way', () => {
    expect(childEnvironment({ input_token: 'x', Actions_Runtime_Token: 'y', HOME: '/root' })).toEqual({ HOME: '/root' });
  });
});
