import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readReport } from '../../src/deploy/pull/index.js';
import { runAgent, startAgentBed, windowAround, type AgentBed } from './deploy-pull-fixture.js';

/**
 * The pull agent's activation window on simulated hosts: a closure is fetched at any time, the
 * switch waits for the window (the report says why), and a manifest deployed with activate-now
 * does not wait.
 */
describe('pull agent activation window', () => {
  let bed: AgentBed;
  let v1: string;
  let v2: string;
  const config = (h: ReturnType<AgentBed['host']>, activationWindow?: string) => bed.config(h, activationWindow ? { activationWindow } : {});

  beforeAll(async () => {
    bed = await startAgentBed({ hosts: 3, prefix: 'window' });
    ({ v1, v2 } = bed);
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('fetches outside the window but does not switch, says why it waits, and switches on a run inside the window', async () => {
    const h = bed.host(0);
    await bed.publish(h.name);
    const closed = await windowAround(h, false);
    const early = await runAgent(h, config(h, closed));
    expect(early.code).toBe(0);
    expect(await h.currentSystem()).toBe(v1);
    expect(await h.hasPath(v2)).toBe(true);
    const waiting = await readReport(bed.store, h.name);
    expect(waiting).toMatchObject({ system: v1, lastError: null, manifestSequence: null, waiting: `fetched ${v2}; waits for the activation window ${closed}` });
    expect(waiting?.download).toBeUndefined();
    expect(early.stderr).toContain(`switching waits for the activation window ${closed}`);

    // Still closed: still waiting, nothing fetched again.
    expect((await runAgent(h, config(h, closed))).code).toBe(0);
    expect(await h.currentSystem()).toBe(v1);

    const open = await windowAround(h, true);
    const inside = await runAgent(h, config(h, open));
    expect(inside.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    const after = await readReport(bed.store, h.name);
    expect(after).toMatchObject({ system: v2, manifestSequence: 1, lastError: null });
    expect(after?.waiting).toBeUndefined();
  });

  it('switches at once, outside the window, for a manifest deployed with activate-now', async () => {
    const h = bed.host(1);
    await bed.publish(h.name, { activateNow: true });
    const run = await runAgent(h, config(h, await windowAround(h, false)));
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    expect((await readReport(bed.store, h.name))?.waiting).toBeUndefined();
  });

  it('refuses a window it cannot read, and changes nothing', async () => {
    const h = bed.host(2);
    await bed.publish(h.name);
    const run = await runAgent(h, config(h, '1am-5am'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the window "1am-5am" is not HH:MM-HH:MM');
    expect(await h.currentSystem()).toBe(v1);
    expect(await h.hasPath(v2)).toBe(false);
  });
});
