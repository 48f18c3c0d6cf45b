import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { deploy } from '../../src/deploy/deploy.js';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';
import { twoGenerations } from '../support/hosts/deploy.js';

describe('timing', () => {
  let fleet: SimulatedFleet; let v1: string; let v2: string;
  beforeAll(async () => { ({ v1, v2 } = await twoGenerations()); const t = Date.now(); fleet = await startHosts(2, { system: v1 }); console.log('start', Date.now() - t); });
  afterAll(async () => { await fleet?.stop(); });
  it('one host', async () => {
    const t0 = Date.now(); const lines: string[] = [];
    const stamp = (m: string) => lines.push(`${String(Date.now() - t0).padStart(5)} ${m}`);
    const log = { debug: stamp, info: stamp, warning: stamp, error: stamp, group: async (_t: string, b: () => Promise<any>) => b(), secret: () => {} };
    await deploy({ hosts: [fleet.hosts[0]!.inventoryHost()], systems: { 'host-1': v2 }, ssh: { privateKey: fleet.privateKey, knownHosts: fleet.knownHosts }, log, settings: {} });
    console.log(lines.join('\n'));
  });
});
