import { PushPlan, type PlanNode, type PlanPath } from '../../../src/cache/push-plan.js';

const p = (name: string): string => `/nix/store/${name.padEnd(32, '0')}-${name}`;
const info = (name: string, narSize: number, refs: string[] = []): PlanPath => ({ path: p(name), narSize, references: refs.map(p) });

/** Checks everything as missing (or present), then drives the plan with one lane, recording what happens. */
function drive(plan: PushPlan, present: string[] = [], failUpload: string[] = []): string[] {
  for (const node of plan.checkOrder) plan.checked(node, present.map(p).includes(node.path));
  return runLane(plan, (node) => (failUpload.map(p).includes(node.path) ? 'disk on fire' : undefined));
}

/** Drives a checked plan with one lane to its end; `failure` says why an upload fails, if it does. */
function runLane(plan: PushPlan, failure: (node: PlanNode) => string | undefined): string[] {
  const events: string[] = [];
  for (;;) {
    const write = plan.nextNarInfo();
    if (write) {
      events.push(`narinfo ${name(write)}`);
      plan.written(write);
      continue;
    }
    const upload = plan.nextUpload();
    if (!upload) break;
    events.push(`nar ${name(upload)}`);
    const why = failure(upload);
    if (why) plan.failed(upload, why);
    else plan.uploaded(upload);
  }
  expect(plan.finished).toBe(true);
  return events;
}

const name = (node: PlanNode): string => node.path.slice(node.path.indexOf('-') + 1);

describe('PushPlan', () => {
  it('checks references before their dependents', () => {
    const plan = new PushPlan([info('top', 1, ['mid']), info('mid', 1, ['leaf']), info('leaf', 1)]);
    expect(plan.checkOrder.map(name)).toEqual(['leaf', 'mid', 'top']);
  });

  it('uploads ready paths biggest first and writes each narinfo only after its references', () => {
    const plan = new PushPlan([info('app', 50, ['lib', 'app']), info('lib', 10, ['libc']), info('libc', 100), info('doc', 70)]);
    const events = drive(plan);
    // libc and doc are ready; libc is bigger. lib becomes ready once libc is written.
    expect(events).toEqual(['nar libc', 'narinfo libc', 'nar doc', 'narinfo doc', 'nar lib', 'narinfo lib', 'nar app', 'narinfo app']);
    for (const n of plan.given()) expect(n.status).toBe('pushed');
  });

  it('looks ahead to paths still waiting on references when nothing is ready, but holds back their narinfo', () => {
    const plan = new PushPlan([info('top', 5, ['mid']), info('mid', 9, ['leaf']), info('leaf', 1)]);
    for (const node of plan.checkOrder) plan.checked(node, false);
    const first = plan.nextUpload() as PlanNode;
    const second = plan.nextUpload() as PlanNode;
    const third = plan.nextUpload() as PlanNode;
    expect([first, second, third].map(name)).toEqual(['leaf', 'mid', 'top']);
    plan.uploaded(third);
    plan.uploaded(second);
    expect(plan.nextNarInfo()).toBeUndefined();
    plan.uploaded(first);
    const order: string[] = [];
    for (let n = plan.nextNarInfo(); n; n = plan.nextNarInfo()) {
      order.push(name(n));
      plan.written(n);
    }
    expect(order).toEqual(['leaf', 'mid', 'top']);
    expect(plan.finished).toBe(true);
  });

  it('counts references already in the cache as available and treats self-references as fine', () => {
    const plan = new PushPlan([info('app', 5, ['app', 'libc']), info('libc', 100)]);
    expect(drive(plan, ['libc'])).toEqual(['nar app', 'narinfo app']);
    expect(plan.get(p('libc'))?.status).toBe('skipped');
    expect(plan.get(p('app'))?.status).toBe('pushed');
  });

  it('treats upstream paths as available without checking them', () => {
    const plan = new PushPlan([info('app', 5, ['glibc']), info('glibc', 100)], { isUpstream: (i) => i.path === p('glibc') });
    expect(plan.checkOrder.map(name)).toEqual(['app']);
    expect(drive(plan)).toEqual(['nar app', 'narinfo app']);
    expect(plan.get(p('glibc'))?.status).toBe('upstream');
  });

  it('blocks every path above a failed one, however deep, and lets the others through', () => {
    const plan = new PushPlan([info('top', 1, ['mid', 'other']), info('mid', 1, ['leaf']), info('leaf', 50), info('other', 1), info('side', 1, ['other'])]);
    const events = drive(plan, [], ['leaf']);
    expect(events).not.toContain('narinfo leaf');
    expect(events).not.toContain('narinfo mid');
    expect(events).not.toContain('narinfo top');
    expect(events).toContain('narinfo other');
    expect(events).toContain('narinfo side');
    expect(plan.get(p('leaf'))).toMatchObject({ status: 'failed', error: 'disk on fire' });
    expect(plan.get(p('mid'))).toMatchObject({ status: 'blocked', error: `its reference ${p('leaf')} failed` });
    expect(plan.get(p('top'))).toMatchObject({ status: 'blocked', error: `its reference ${p('leaf')} failed` });
  });

  it('does not upload the NAR of a path that is already blocked', () => {
    const plan = new PushPlan([info('top', 1, ['leaf']), info('leaf', 50)]);
    expect(drive(plan, [], ['leaf'])).toEqual(['nar leaf']);
  });

  it('ignores the finished upload of a path blocked while it was uploading', () => {
    const plan = new PushPlan([info('top', 100, ['leaf']), info('leaf', 1)]);
    for (const node of plan.checkOrder) plan.checked(node, false);
    const leaf = plan.nextUpload() as PlanNode;
    const top = plan.nextUpload() as PlanNode;
    expect(name(top)).toBe('top');
    plan.failed(leaf, 'boom');
    plan.uploaded(top);
    expect(plan.nextNarInfo()).toBeUndefined();
    expect(top.status).toBe('blocked');
    expect(plan.finished).toBe(true);
  });

  it('blocks paths whose reference is neither given nor in the cache', () => {
    const plan = new PushPlan([info('app', 1, ['ghost'])]);
    expect(plan.checkOrder.map(name)).toEqual(['ghost', 'app']);
    drive(plan);
    expect(plan.get(p('ghost'))).toMatchObject({ status: 'failed', error: 'it is neither in the cache nor among the paths to push' });
    expect(plan.get(p('app'))).toMatchObject({ status: 'blocked', error: `its reference ${p('ghost')} is not in the cache` });
    expect([...plan.given()].map(name)).toEqual(['app']);
  });

  it('pushes a path whose reference was not given but is in the cache', () => {
    const plan = new PushPlan([info('app', 1, ['libc'])]);
    expect(drive(plan, ['libc'])).toEqual(['nar app', 'narinfo app']);
  });

  it('fails paths on a reference cycle instead of waiting forever', () => {
    const plan = new PushPlan([info('a', 1, ['b']), info('b', 1, ['a']), info('c', 1)]);
    drive(plan);
    expect(plan.get(p('a'))?.status).toMatch(/failed|blocked/);
    expect(plan.get(p('b'))?.status).toMatch(/failed|blocked/);
    expect(plan.get(p('c'))?.status).toBe('pushed');
  });

  it('reports each node once when it settles', () => {
    const settled: string[] = [];
    const plan = new PushPlan([info('top', 1, ['leaf']), info('leaf', 1), info('up', 1)], {
      isUpstream: (i) => i.path === p('up'),
      onSettled: (n) => settled.push(`${name(n)}:${n.status}`),
    });
    drive(plan, [], ['leaf']);
    expect(settled.sort()).toEqual(['leaf:failed', 'top:blocked', 'up:upstream']);
  });

  describe('repairs (verify-cache)', () => {
    /** Checks `broken` paths as needing repair, the rest as present or missing, then drives the plan. */
    function driveRepairs(plan: PushPlan, broken: Record<string, 'nar' | 'narinfo'>, present: string[] = [], failUpload: string[] = []): string[] {
      for (const node of plan.checkOrder) {
        const what = broken[name(node)];
        if (what) plan.repair(node, what);
        else plan.checked(node, present.includes(name(node)));
      }
      return runLane(plan, (node) => (failUpload.includes(name(node)) ? 'server error' : undefined));
    }

    it('re-uploads a NAR, or only rewrites a narinfo, and calls the path repaired', () => {
      const plan = new PushPlan([info('gone', 10), info('unsigned', 20), info('fine', 30)]);
      expect(driveRepairs(plan, { gone: 'nar', unsigned: 'narinfo' }, ['fine'])).toEqual(['narinfo unsigned', 'nar gone', 'narinfo gone']);
      expect([...plan.given()].map((n) => `${name(n)}:${n.status}`)).toEqual(['gone:repaired', 'unsigned:repaired', 'fine:skipped']);
    });

    it('rewrites a narinfo only after its references are available, repaired or pushed', () => {
      const plan = new PushPlan([info('top', 1, ['mid']), info('mid', 1, ['leaf']), info('leaf', 50)]);
      expect(driveRepairs(plan, { top: 'narinfo', leaf: 'nar' })).toEqual(['nar leaf', 'narinfo leaf', 'nar mid', 'narinfo mid', 'narinfo top']);
      expect(plan.get(p('mid'))?.status).toBe('pushed');
      expect(plan.get(p('top'))?.status).toBe('repaired');
    });

    it('leaves a narinfo as it was when the repair of a reference fails', () => {
      const plan = new PushPlan([info('top', 1, ['leaf']), info('leaf', 50), info('other', 1)]);
      expect(driveRepairs(plan, { top: 'narinfo', leaf: 'nar', other: 'narinfo' }, [], ['leaf'])).toEqual(['narinfo other', 'nar leaf']);
      expect(plan.get(p('leaf'))).toMatchObject({ status: 'failed', error: 'server error', repairing: true });
      expect(plan.get(p('top'))).toMatchObject({ status: 'blocked', error: `its reference ${p('leaf')} failed` });
    });

    it('ignores a repair of a path already checked', () => {
      const plan = new PushPlan([info('a', 1)]);
      const [node] = plan.checkOrder as [PlanNode];
      plan.checked(node, true);
      plan.repair(node, 'nar');
      expect(node).toMatchObject({ status: 'skipped', phase: 'available' });
      expect(plan.nextUpload()).toBeUndefined();
    });
  });

  it('copes with a long chain without deep recursion', () => {
    const infos = Array.from({ length: 20_000 }, (_, i) => info(`n${i}`, 1, i > 0 ? [`n${i - 1}`] : []));
    const plan = new PushPlan(infos);
    for (const node of plan.checkOrder) plan.checked(node, false);
    const first = plan.nextUpload() as PlanNode;
    expect(name(first)).toBe('n0');
    plan.failed(first, 'boom');
    expect(plan.get(p('n19999'))?.status).toBe('blocked');
  });
});
