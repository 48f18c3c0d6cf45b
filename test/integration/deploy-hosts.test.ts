import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHosts, type SimulatedFleet } from '../support/hosts/index.js';

describe('simulated hosts', () => {
  let fleet: SimulatedFleet;
  beforeAll(async () => {
    fleet = await startHosts(2);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('smoke', async () => {
    const [a] = fleet.hosts;
    const r = await a!.ssh(['sh', '-c', 'readlink /run/current-system; cat /proc/sys/kernel/random/boot_id; ls /nix/store | wc -l; echo $$']);
    console.log(r);
    console.log(await a!.currentSystem(), await a!.profileGeneration(), await a!.bootId());
  });
});
