import { describe, expect, it } from '@jest/globals';
import { deploy } from '../../../src/deploy/deploy.js';
import type { HostJob, Transport } from '../../../src/deploy/types.js';
import type { Host } from '../../../src/fleet/types.js';
import type { HostResult } from '../../../src/rollout/types.js';
import { memoryLog } from '../../../src/util/log.js';

const SYS = (n: number) => `/nix/store/${String(n).repeat(32).slice(0, 32)}-nixos-system-h${n}`;
const pullHost = (name: string): Host => ({ name, attribute: name, system: 'x86_64-linux', environment: 'staging', tags: [], deploy: { method: 'pull' } });

/** A transport that records its jobs and fails the hosts it is told to. */
function recordingTransport(failing: string[] = []): Transport & { jobs: HostJob[]; closed: boolean } {
  const jobs: HostJob[] = [];
  return {
    method: 'pull',
    jobs,
    closed: false,
    async deployHost(job): Promise<Omit<HostResult, 'batch'>> {
      jobs.push(job);
      const failed = failing.includes(job.host.name);
      return { host: job.host.name, outcome: failed ? 'failed' : 'succeeded', target: job.system, durationMs: 1, message: failed ? 'no' : 'ok' };
    },
    async close() {
      this.closed = true;
    },
  };
}

describe('deploy', () => {
  it('runs the plan through the transport of each host’s deploy method', async () => {
    const pull = recordingTransport();
    const seen: string[] = [];
    const log = memoryLog();
    const report = await deploy({
      hosts: [pullHost('a'), pullHost('b'), pullHost('c')],
      systems: { a: SYS(1), b: SYS(2), c: SYS(3) },
      rollout: { maxConcurrency: { count: 1 } },
      transports: { pull },
      log,
      onResult: (r) => seen.push(r.host),
    });
    expect(pull.jobs.map((j) => [j.host.name, j.system])).toEqual([
      ['a', SYS(1)],
      ['b', SYS(2)],
      ['c', SYS(3)],
    ]);
    expect(report.ok).toBe(true);
    expect(report.plan.batches).toHaveLength(3);
    expect(report.settings.action).toBe('switch');
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(log.lines[0]).toMatch(/^Rollout: 3 hosts, action switch/);
    // The caller's transports stay open: the caller owns them.
    expect(pull.closed).toBe(false);
  });

  it('reports skipped hosts with the system they would have got', async () => {
    const report = await deploy({
      hosts: [pullHost('a'), pullHost('b')],
      systems: { a: SYS(1), b: SYS(2) },
      transports: { pull: recordingTransport(['a']) },
      log: memoryLog(),
    });
    expect(report.results.map((r) => [r.host, r.outcome, r.target])).toEqual([
      ['a', 'failed', SYS(1)],
      ['b', 'skipped', SYS(2)],
    ]);
    expect(report.hostsByOutcome.skipped).toEqual(['b']);
  });

  it('checks everything before touching a host', async () => {
    const pull = recordingTransport();
    await expect(deploy({ hosts: [pullHost('a'), pullHost('b')], systems: { a: SYS(1) }, transports: { pull }, log: memoryLog() })).rejects.toThrow(
      'host "b" has no system to deploy',
    );
    expect(pull.jobs).toEqual([]);
  });
});
