import { parseInventoryText, reachedWaves, selectHosts, type Inventory } from '../../../src/fleet/index.js';
import { selectDeployHosts } from '../../../src/deploy/guard.js';
import { inventorySelectors } from '../../../src/pipeline/targets.js';

/** An inventory with these waves (YAML flow mappings, or none), one production host per wave, a staging host in the first wave, and a host in no wave. */
function fleet(waves: Record<string, string> | undefined): Inventory {
  const entries = Object.entries(waves ?? {});
  const hosts = entries.map(([wave]) => `  ${wave}-host: { environment: production, wave: ${wave} }`);
  const first = entries.map(([wave, body]) => [wave, Number(/order: (-?\d+)/.exec(body)?.[1])] as const).sort((a, b) => a[1] - b[1])[0]?.[0];
  const yaml = [
    'environments:',
    '  staging: { allowed-refs: [refs/heads/staging] }',
    '  production: { allowed-refs: [refs/heads/main], protected: true }',
    ...(waves ? ['waves:', ...entries.map(([wave, body]) => `  ${wave}: ${body}`)] : []),
    'hosts:',
    ...hosts,
    `  monitor: { environment: staging${first ? `, wave: ${first}` : ''} }`,
    '  lonely: { environment: production }',
  ].join('\n');
  return parseInventoryText(yaml, 'fleet.yaml');
}
const names = (inventory: Inventory, selectors: string[]) => selectHosts(inventory, selectors).map((h) => h.name);
const reached = (inventory: Inventory) => reachedWaves(inventory)?.map((w) => w.name);

describe('waves:reached', () => {
  // Written out of order: the first wave is the lowest order, not the first key.
  const midRelease = fleet({
    final: '{ order: 30, channel: nixos-24.11 }',
    first: '{ order: 10, channel: nixos-25.05 }',
    middle: '{ order: 20, channel: nixos-24.11 }',
  });

  it("selects the waves on the first wave's channel, not those still on an older one", () => {
    expect(reached(midRelease)).toEqual(['first']);
    expect(names(midRelease, ['waves:reached'])).toEqual(['first-host', 'monitor']);
  });

  it('takes in a wave once an advance has put it on the new channel', () => {
    const advanced = fleet({ first: '{ order: 1, channel: nixos-25.05 }', middle: '{ order: 2, channel: nixos-25.05 }', final: '{ order: 3, channel: nixos-24.11 }' });
    expect(reached(advanced)).toEqual(['first', 'middle']);
    expect(names(advanced, ['waves:reached'])).toEqual(['first-host', 'middle-host', 'monitor']);
  });

  it("takes every wave on the first wave's channel, even after one that is not", () => {
    const gap = fleet({ first: '{ order: 1, channel: nixos-25.05 }', middle: '{ order: 2, channel: nixos-24.11 }', final: '{ order: 3, channel: nixos-25.05 }' });
    expect(reached(gap)).toEqual(['first', 'final']);
  });

  it('selects every wave when the waves have no channels, but not the hosts in no wave', () => {
    const plain = fleet({ first: '{ order: 1 }', middle: '{ order: 2 }' });
    expect(reached(plain)).toEqual(['first', 'middle']);
    expect(names(plain, ['waves:reached'])).toEqual(['first-host', 'middle-host', 'monitor']);
  });

  it('selects every host when the inventory has no waves', () => {
    const none = fleet(undefined);
    expect(reachedWaves(none)).toBeUndefined();
    expect(names(none, ['waves:reached'])).toEqual(['monitor', 'lonely']);
  });

  it('composes with the other selectors, and the deploy keeps the environment’s hosts', () => {
    expect(names(midRelease, ['env:production', '!waves:reached'])).toEqual(['final-host', 'middle-host', 'lonely']);
    expect(selectDeployHosts(midRelease, 'production', 'refs/heads/main', ['waves:reached']).map((h) => h.name)).toEqual(['first-host']);
    expect(() => selectDeployHosts(fleet(undefined), 'production', 'refs/heads/main', ['waves:reached', '!lonely'])).toThrow('waves:reached, !lonely selects no host of production');
  });

  it('reserves no wave name: a wave called reached is wave:reached, the set is waves:reached', () => {
    const named = fleet({ early: '{ order: 1, channel: nixos-25.05 }', reached: '{ order: 2, channel: nixos-24.11 }' });
    expect(names(named, ['wave:reached'])).toEqual(['reached-host']);
    expect(names(named, ['waves:reached'])).toEqual(['early-host', 'monitor']);
  });

  it('points from wave:reached to waves:reached when no wave has that name, and refuses unknown sets', () => {
    expect(() => names(midRelease, ['wave:reached'])).toThrow('selector "wave:reached": unknown wave "reached"; known: final, first, middle; for the set of waves, write waves:reached');
    expect(() => names(midRelease, ['waves:reachd'])).toThrow('selector "waves:reachd": unknown set of waves "reachd"; known: reached (one wave: wave:NAME)');
    expect(() => names(midRelease, ['waves:'])).toThrow(/unknown set of waves ""/);
  });

  it('needs the inventory to resolve it, as every wave selector does', () => {
    expect(inventorySelectors(['web1', 'waves:reached', '!waves:reached', 'wave:first'])).toEqual(['waves:reached', '!waves:reached', 'wave:first']);
  });
});
