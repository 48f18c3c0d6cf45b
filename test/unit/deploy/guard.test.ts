import { parseInventoryText } from '../../../src/fleet/index.js';
import { selectDeployHosts } from '../../../src/deploy/guard.js';

const inventory = parseInventoryText(
  `
environments:
  staging: { allowed-refs: [refs/heads/staging, refs/heads/main, refs/pull/**] }
  production: { allowed-refs: [refs/heads/main, refs/tags/v*], protected: true }
hosts:
  web1: { environment: production, tags: [web] }
  web2: { environment: production, tags: [web] }
  stage1: { environment: staging, tags: [web] }
`,
  'fleet.yaml',
);
const names = (env: string, ref: string, selectors: string[]) => selectDeployHosts(inventory, env, ref, selectors).map((h) => h.name);

describe('selectDeployHosts', () => {
  it('keeps broad selections inside the environment', () => {
    expect(names('production', 'refs/heads/main', ['all'])).toEqual(['web1', 'web2']);
    expect(names('staging', 'refs/pull/7/merge', ['@web'])).toEqual(['stage1']);
    expect(names('production', 'refs/tags/v1.4.0', ['web1'])).toEqual(['web1']);
  });

  it('refuses production from a ref the inventory does not allow', () => {
    expect(() => names('production', 'refs/heads/feature', ['all'])).toThrow(
      'refs/heads/feature may not deploy to production: fleet.yaml allows refs/heads/main, refs/tags/v* (environments.production.allowed-refs)',
    );
    expect(() => names('production', 'refs/pull/7/merge', ['web1'])).toThrow(/may not deploy to production/);
  });

  it('needs hosts written out, and refuses strangers and empty selections', () => {
    expect(() => names('production', 'refs/heads/main', [])).toThrow(/write `hosts: all`.*production is protected/);
    expect(() => names('production', 'refs/heads/main', ['stage1'])).toThrow('stage1 is in staging, not production');
    expect(() => names('staging', 'refs/heads/main', ['web*'])).toThrow('web* selects no host of staging');
    expect(() => names('qa', 'refs/heads/main', ['all'])).toThrow('environment "qa" is not in fleet.yaml; known: staging, production');
    expect(() => names('production', 'refs/heads/main', ['web9'])).toThrow(/unknown host/);
  });
});
