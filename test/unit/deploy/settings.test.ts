import { describe, expect, it } from '@jest/globals';
import { planDeploy } from '../../../src/deploy/deploy.js';
import { parseDeployAction, parseHealthCheckLines, parseHealthChecks, parseRollbackMode, resolveDeploySettings } from '../../../src/deploy/settings.js';
import { DEFAULT_DEPLOY_SETTINGS } from '../../../src/deploy/types.js';
import type { Host } from '../../../src/fleet/types.js';

describe('deploy inputs', () => {
  it('accepts the five actions and nothing else', () => {
    for (const action of ['switch', 'boot', 'test', 'dry-activate', 'reboot']) expect(parseDeployAction(action)).toBe(action);
    expect(() => parseDeployAction('restart')).toThrow('action: "restart" is not one of switch, boot, test, dry-activate, reboot (example: switch)');
  });

  it('reads rollback modes', () => {
    expect(parseRollbackMode('auto')).toBe('auto');
    expect(parseRollbackMode(' off ')).toBe('off');
    expect(() => parseRollbackMode('yes')).toThrow('rollback: "yes" is not auto or off');
  });

  it('reads one health check per line, with optional time limits', () => {
    const checks = parseHealthChecks(
      ['systemctl is-active nginx', '', '# comment', '[2m] curl -fsS http://localhost/health, then more', '  [90s]   test -e /run/x  '].join('\n'),
      30_000,
    );
    expect(checks).toEqual([
      { command: 'systemctl is-active nginx', timeoutMs: 30_000 },
      { command: 'curl -fsS http://localhost/health, then more', timeoutMs: 120_000 },
      { command: 'test -e /run/x', timeoutMs: 90_000 },
    ]);
  });

  it('keeps shell syntax that merely starts with a bracket as the command', () => {
    expect(parseHealthChecks('[ -e /run/current-system ]')).toEqual([{ command: '[ -e /run/current-system ]', timeoutMs: 60_000 }]);
  });

  it('refuses unusable time limits with an example', () => {
    expect(() => parseHealthChecks('[soon] true')).toThrow('health-checks: line 1 "[soon] true": "[soon]" is not a time limit (use s, m or h) (example: "[30s] systemctl is-active nginx")');
    expect(() => parseHealthChecks('[10ms] true')).toThrow('the time limit 10ms is shorter than the minimum 1s');
  });

  it('keeps commas and # inside a command: one check per line', () => {
    expect(parseHealthCheckLines('echo a,b\ncurl -fsS http://localhost/#health, --max-time 5')).toEqual([{ command: 'echo a,b' }, { command: 'curl -fsS http://localhost/#health, --max-time 5' }]);
  });

  it('reads a time limit written against its command, and refuses one without a command', () => {
    expect(parseHealthCheckLines('[30s]systemctl is-active nginx')).toEqual([{ command: 'systemctl is-active nginx', timeoutMs: 30_000 }]);
    expect(() => parseHealthCheckLines('true\n[30s]   ')).toThrow('line 2 "[30s]": the time limit [30s] has no command after it');
  });

  it('refuses a time limit above the maximum, which would overflow the timer', () => {
    expect(() => parseHealthCheckLines('true\n[25d] curl -fsS localhost')).toThrow('line 2 "[25d] curl -fsS localhost": the time limit 25d is longer than the maximum 1h');
    expect(parseHealthCheckLines('[1h] true')).toEqual([{ command: 'true', timeoutMs: 3_600_000 }]);
  });

  it('fills in defaults and checks values', () => {
    expect(resolveDeploySettings()).toEqual(DEFAULT_DEPLOY_SETTINGS);
    expect(resolveDeploySettings({ action: 'boot', confirmTimeoutMs: undefined }).confirmTimeoutMs).toBe(90_000);
    expect(() => resolveDeploySettings({ confirmTimeoutMs: 10 })).toThrow('confirm-timeout: 10 is too small (example: 90s)');
    expect(() => resolveDeploySettings({ confirmTimeoutMs: 25 * 86_400_000 })).toThrow('confirm-timeout: 25d0h is longer than the maximum 1h (example: 90s)');
    expect(() => resolveDeploySettings({ healthChecks: [{ command: 'true', timeoutMs: 25 * 86_400_000 }] })).toThrow('health check "true": time limit: 25d0h is longer than the maximum 1h');
    expect(() => resolveDeploySettings({ substituters: ['https://cache.example.org'] })).toThrow('trusted-public-keys: required with substituters');
  });
});

describe('planDeploy', () => {
  const SYS = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web1-24.11';
  const host = (name: string, deploy: Host['deploy'] = { method: 'ssh', host: `${name}.example.org`, port: 22, user: 'root' }): Host => ({
    name,
    attribute: name,
    system: 'x86_64-linux',
    environment: 'production',
    tags: [],
    deploy,
  });

  it('plans without touching anything and prints each host with its Nix system and store path', () => {
    const arm = { ...host('arm1'), system: 'aarch64-linux' };
    const planned = planDeploy({ hosts: [host('web1'), arm], systems: { web1: SYS, arm1: SYS }, rollout: { maxConcurrency: { count: 1 } }, settings: { action: 'boot' } });
    expect(planned.plan.batches.map((b) => b.hosts.map((h) => h.name))).toEqual([['web1'], ['arm1']]);
    expect(planned.settings.action).toBe('boot');
    expect(planned.text).toContain(`    web1  x86_64-linux   ${SYS}`);
    expect(planned.text).toContain(`    arm1  aarch64-linux  ${SYS}`);
    // The summary's table, as action-build's has them: System is the Nix system (`\_` renders as `_`).
    expect(planned.markdown).toContain('| Batch | Host | System | Store path |');
    expect(planned.markdown).toContain(`| 1 (canary) | web1 | x86\\_64-linux | \`${SYS}\` |`);
    expect(planned.markdown).toContain(`| 2 | arm1 | aarch64-linux | \`${SYS}\` |`);
  });

  it('refuses hosts without a system or with something that is not a store path', () => {
    expect(() => planDeploy({ hosts: [host('web1')], systems: {} })).toThrow('host "web1" has no system to deploy');
    expect(() => planDeploy({ hosts: [host('web1')], systems: { web1: '/tmp/result' } })).toThrow('store-paths: "/tmp/result" for host "web1" is not a store path');
    expect(() => planDeploy({ hosts: [host('web1')], systems: { web1: '/nix/store/eeee-x' } })).toThrow('is not a store path');
  });

  it('refuses hosts whose deploy method has no transport', () => {
    expect(() => planDeploy({ hosts: [host('clinic', { method: 'pull' })], systems: { clinic: SYS } })).toThrow(
      'host "clinic" is deployed with pull, and this deploy has no pull transport',
    );
    const pull = { method: 'pull' as const, deployHost: async () => ({ host: 'clinic', outcome: 'succeeded' as const, durationMs: 0, message: '' }), close: async () => {} };
    expect(planDeploy({ hosts: [host('clinic', { method: 'pull' })], systems: { clinic: SYS }, transports: { pull } }).plan.hostCount).toBe(1);
  });

  it('refuses targets that ssh could read as options', () => {
    expect(() => planDeploy({ hosts: [host('web1', { method: 'ssh', host: '-oProxyCommand=evil', port: 22, user: 'root' })], systems: { web1: SYS } })).toThrow(
      'host "web1": deploy host "-oProxyCommand=evil" is not valid',
    );
    expect(() => planDeploy({ hosts: [host('web1')], systems: { web1: SYS }, ssh: { user: 'root;id' } })).toThrow('deploy user "root;id" is not valid');
  });

  it('refuses an empty selection', () => {
    expect(() => planDeploy({ hosts: [], systems: {} })).toThrow('the rollout has no hosts');
  });
});
