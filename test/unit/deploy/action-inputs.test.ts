import { readDeployInputs } from '../../../action-deploy/src/inputs.js';
import { readDeploySettings } from '../../../action-deploy/src/settings.js';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';
const required = { environment: 'production', hosts: 'all' };

describe('action-deploy health-checks', () => {
  it('is one check per line: a comma belongs to the command', () => {
    const { deploy } = readDeploySettings(reader({ ...required, 'health-checks': 'echo a,b' }));
    expect(deploy.healthChecks).toEqual([{ command: 'echo a,b', timeoutMs: 60_000 }]);
  });

  it('gives each check its [DURATION] limit, else health-check-timeout', () => {
    const { deploy } = readDeploySettings(
      reader({ ...required, 'health-check-timeout': '20s', 'health-checks': 'systemctl is-active nginx\n# not a check\n[2m] curl -fsS http://localhost/health, -H x\n[ -e /run/current-system ]' }),
    );
    expect(deploy.healthChecks).toEqual([
      { command: 'systemctl is-active nginx', timeoutMs: 20_000 },
      { command: 'curl -fsS http://localhost/health, -H x', timeoutMs: 120_000 },
      { command: '[ -e /run/current-system ]', timeoutMs: 20_000 },
    ]);
  });

  it('names the input, the line and the maximum of a prefix that is too long', () => {
    expect(() => readDeployInputs(reader({ ...required, 'health-checks': 'true\n[25d] curl localhost' }))).toThrow(
      'Input "health-checks": line 2 "[25d] curl localhost": the time limit 25d is longer than the maximum 1h. Example: health-checks: [30s] systemctl is-active nginx',
    );
  });
});

describe('action-deploy durations', () => {
  it.each([
    ['health-check-timeout', '25d', '1h', '60s'],
    ['confirm-timeout', '2h', '1h', '90s'],
    ['wait', '30d', '5d', '30m'],
    ['manifest-lifetime', '999999999999d', '90d', '30d'],
  ])('refuses %s: %s above its maximum %s', (name, value, max, example) => {
    expect(() => readDeployInputs(reader({ ...required, [name]: value }))).toThrow(`Input "${name}": "${value}" is longer than the maximum ${max}. Example: ${name}: ${example}`);
  });

  it('accepts each maximum itself', () => {
    const inputs = readDeployInputs(reader({ ...required, 'health-check-timeout': '1h', 'confirm-timeout': '1h', wait: '5d', 'manifest-lifetime': '90d' }));
    expect([inputs['health-check-timeout'], inputs['confirm-timeout'], inputs.wait, inputs['manifest-lifetime']]).toEqual([3_600_000, 3_600_000, 5 * 86_400_000, 90 * 86_400_000]);
  });
});
