import { parseInventoryText, refAllowed, selectHosts } from '../../../src/fleet/index.js';

const yaml = `
environments:
  staging: { allowed-refs: [refs/heads/staging, refs/heads/main] }
  production: { allowed-refs: [refs/heads/main, refs/tags/v*], protected: true }
waves:
  first: { order: 1, soak: 1h, quorum: 100%, channel: nixos-24.11 }
  middle: { order: 2, soak: 24h, quorum: 80% }
  final: { order: 3, soak: 2d, quorum: 2 }
defaults:
  deploy: { method: ssh, user: deploy }
hosts:
  web1: { environment: production, wave: first, tags: [web, eu], deploy: { host: web1.example.org, jump: relay.example.org } }
  web2: { environment: production, wave: middle, tags: [web] }
  db1: { attribute: database-1, environment: production, wave: final, tags: [db] }
  clinic-kin: { environment: staging, wave: first, tags: [clinic], deploy: { method: pull } }
`;

describe('inventory', () => {
  const inventory = parseInventoryText(yaml, 'fleet.yaml');

  it('reads hosts with defaults applied', () => {
    expect(inventory.hosts.web1).toEqual({
      name: 'web1',
      attribute: 'web1',
      system: 'x86_64-linux',
      environment: 'production',
      wave: 'first',
      tags: ['web', 'eu'],
      deploy: { method: 'ssh', host: 'web1.example.org', port: 22, user: 'deploy', jump: 'relay.example.org' },
    });
    expect(inventory.hosts.db1?.attribute).toBe('database-1');
    expect(inventory.hosts.web2?.deploy).toEqual({ method: 'ssh', host: 'web2', port: 22, user: 'deploy' });
    expect(inventory.hosts['clinic-kin']?.deploy).toEqual({ method: 'pull' });
  });

  it('reads waves with durations and quorums', () => {
    expect(inventory.waves.first).toEqual({ name: 'first', order: 1, soakMs: 3_600_000, quorum: { percent: 100 }, channel: 'nixos-24.11' });
    expect(inventory.waves.final).toEqual({ name: 'final', order: 3, soakMs: 172_800_000, quorum: { count: 2 } });
    expect(inventory.environments.production).toEqual({ name: 'production', allowedRefs: ['refs/heads/main', 'refs/tags/v*'], protected: true });
  });

  it('points at the faulty place in the document', () => {
    expect(() => parseInventoryText(yaml.replace('wave: first, tags: [web, eu]', 'wave: frist, tags: [web, eu]'), 'fleet.yaml')).toThrow(
      'hosts.web1.wave: unknown wave "frist"; known: first, middle, final',
    );
    expect(() => parseInventoryText(yaml.replace('soak: 1h', 'soak: an hour'), 'fleet.yaml')).toThrow(/waves\.first\.soak: "an hour" is not a duration/);
    expect(() => parseInventoryText(yaml.replace('soak: 1h', 'soak: 999999999999d'), 'fleet.yaml')).toThrow(/waves\.first\.soak: "999999999999d" is not between 0 and the maximum 90d/);
    expect(() => parseInventoryText(yaml.replace('environment: staging', 'environment: stagign'), 'fleet.yaml')).toThrow(
      'hosts.clinic-kin.environment: unknown environment "stagign"; known: staging, production',
    );
    expect(() => parseInventoryText(yaml.replace('{ method: pull }', '{ method: carrier-pigeon }'), 'fleet.yaml')).toThrow(
      'fleet.yaml: hosts.clinic-kin.deploy.method: "carrier-pigeon" is not one of ssh, pull, aws-asg, aws-ssm',
    );
    expect(() => parseInventoryText(yaml.replace('jump: relay.example.org', 'port: twenty-two'), 'fleet.yaml')).toThrow('fleet.yaml: hosts.web1.deploy.port: "twenty-two" is not a number');
    expect(() => parseInventoryText(yaml.replace('order: 2,', 'order: second,'), 'fleet.yaml')).toThrow('waves.middle.order: "second" is not a number');
    expect(() => parseInventoryText(yaml.replace('tags: [db]', 'tags: [db], colour: red'), 'fleet.yaml')).toThrow(/hosts\.db1: .*colour/i);
    expect(() => parseInventoryText('hosts: [', 'fleet.yaml')).toThrow(/fleet.yaml is not valid YAML/);
    // Manifests live at fleet/<environment>/<host>.json, beside fleet's own directories.
    expect(() => parseInventoryText(yaml.replace('  staging: {', '  status: {').replace('environment: staging', 'environment: status'), 'fleet.yaml')).toThrow(
      /environments\.status: .*is a directory fleet keeps in the store/,
    );
  });

  it('reads each host\'s system, from the host, the defaults, or x86_64-linux', () => {
    const systems = (text: string) => Object.fromEntries(Object.values(parseInventoryText(text, 'fleet.yaml').hosts).map((h) => [h.name, h.system]));
    expect(systems(yaml)).toEqual({ web1: 'x86_64-linux', web2: 'x86_64-linux', db1: 'x86_64-linux', 'clinic-kin': 'x86_64-linux' });
    const arm = yaml.replace('db1: { attribute', 'db1: { system: aarch64-linux, attribute').replace('defaults:\n', 'defaults:\n  system: riscv64-linux\n');
    expect(systems(arm)).toMatchObject({ db1: 'aarch64-linux', web1: 'riscv64-linux' });
    expect(() => parseInventoryText(yaml.replace('db1: { attribute', 'db1: { system: arm64, attribute'), 'fleet.yaml')).toThrow(
      'hosts.db1.system: "arm64": is not a Nix system such as x86_64-linux or aarch64-linux',
    );
  });

  it('reads the same inventory as JSON', () => {
    const json = JSON.stringify({ environments: { dev: {} }, hosts: { a: { environment: 'dev' } } });
    expect(parseInventoryText(json, 'fleet.json').hosts.a?.deploy).toEqual({ method: 'ssh', host: 'a', port: 22, user: 'root' });
  });
});

describe('selectHosts', () => {
  const inventory = parseInventoryText(yaml, 'fleet.yaml');
  const names = (selectors: string[]) => selectHosts(inventory, selectors).map((h) => h.name);

  it('resolves names, globs, tags, waves, environments and all', () => {
    expect(names(['web1'])).toEqual(['web1']);
    expect(names(['web*'])).toEqual(['web1', 'web2']);
    expect(names(['@clinic', 'db1'])).toEqual(['db1', 'clinic-kin']);
    expect(names(['wave:first'])).toEqual(['web1', 'clinic-kin']);
    expect(names(['env:production'])).toEqual(['web1', 'web2', 'db1']);
    expect(names(['all'])).toEqual(['web1', 'web2', 'db1', 'clinic-kin']);
    expect(names(['env:production', '!@web'])).toEqual(['db1']);
  });

  it('fails on selectors that match nothing', () => {
    expect(() => names(['web3'])).toThrow('selector "web3": unknown host; hosts: web1, web2, db1, clinic-kin');
    expect(() => names(['@gpu'])).toThrow('no host has tag "gpu"; known tags: clinic, db, eu, web');
    expect(() => names(['wave:frist'])).toThrow('unknown wave "frist"; known: first, middle, final');
    expect(() => names(['db?x'])).toThrow(/matches no host/);
  });
});

describe('refAllowed', () => {
  it('matches exact refs and globs', () => {
    expect(refAllowed(['refs/heads/main', 'refs/tags/v*'], 'refs/heads/main')).toBe(true);
    expect(refAllowed(['refs/heads/main', 'refs/tags/v*'], 'refs/tags/v1.2')).toBe(true);
    expect(refAllowed(['refs/heads/main'], 'refs/heads/feature')).toBe(false);
    expect(refAllowed(['refs/pull/**'], 'refs/pull/12/merge')).toBe(true);
    expect(refAllowed([], 'refs/heads/main')).toBe(false);
  });
});
