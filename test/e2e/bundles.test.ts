import { runAction } from '../support/harness.js';

describe('each bundle under the runner harness', () => {
  it('action-build rejects a cache URL it cannot push to, naming the input', async () => {
    const result = await runAction('action-build', { inputs: { cache: 'ftp://x' } });
    expect(result.exitCode).toBe(1);
    expect(result.annotations).toContainEqual({ level: 'error', message: expect.stringContaining('Input "cache": "ftp://x" must start with s3://') });
  });

  it('action-deploy rejects an action it does not know', async () => {
    const result = await runAction('action-deploy', { inputs: { environment: 'staging', hosts: 'web1', action: 'explode' } });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "action": "explode" is not one of switch, boot, test, dry-activate, reboot');
  });

  it('action-deploy requires an explicit host selection', async () => {
    const result = await runAction('action-deploy', { inputs: { environment: 'production' } });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "hosts": is required');
  });

  it('action-flake-bump rejects an unknown grouping', async () => {
    const result = await runAction('action-flake-bump', { inputs: { group: 'weekly' }, githubToken: 't' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "group": "weekly" is not one of all, per-input');
  });

  it('action-upgrade-wave rejects a bad duration', async () => {
    const result = await runAction('action-upgrade-wave', { inputs: { 'offline-after': 'a week' }, githubToken: 't' });
    expect(result.exitCode).toBe(1);
    expect(result.annotations[0]?.message).toContain('Input "offline-after": "a week" is not a duration');
  });
});
