import { describe, expect, it } from '@jest/globals';
import type { RolloutReport } from '../../../src/rollout/execute.js';
import { formatPlanMarkdown, formatPlanText, formatResultsMarkdown, formatResultsText, shortStorePath } from '../../../src/rollout/format.js';
import { planRollout } from '../../../src/rollout/plan.js';

const A = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-a-24.11';
const B = '/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-nixos-system-b-24.11';

describe('plan printing', () => {
  const plan = planRollout([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { maxConcurrency: { percent: 50 }, maxErrors: { count: 1 } });

  it('prints batches for the log', () => {
    expect(formatPlanText(plan, { action: 'switch' })).toBe(
      [
        'Rollout: 3 hosts, action switch, canary 1, batches of 2 (max-concurrency 50%), max-errors 1 (1 tolerated)',
        '  batch 1 (canary): a',
        '  batch 2: b, c',
      ].join('\n'),
    );
  });

  it('prints each host with its store path when targets are known', () => {
    const text = formatPlanText(plan, { targets: { a: A, b: B } });
    expect(text.split('\n').slice(1)).toEqual(['  batch 1 (canary):', `    a  ${A}`, '  batch 2:', `    b  ${B}`, '    c  (no system)']);
  });

  // The hosts as the inventory gives them: each with its Nix system.
  const mixed = planRollout(
    [
      { name: 'web1', system: 'x86_64-linux' },
      { name: 'api-arm1', system: 'aarch64-linux' },
      { name: 'db', system: 'x86_64-linux' },
    ],
    { maxConcurrency: { count: 2 } },
  );

  it("prints each host's Nix system between its name and store path, in aligned columns", () => {
    const text = formatPlanText(mixed, { targets: { web1: A, 'api-arm1': B, db: A } });
    expect(text.split('\n').slice(1)).toEqual([
      '  batch 1 (canary):',
      `    web1      x86_64-linux   ${A}`,
      '  batch 2:',
      `    api-arm1  aarch64-linux  ${B}`,
      `    db        x86_64-linux   ${A}`,
    ]);
  });

  it('prints a Markdown table with a row per host: batch, host, system, store path', () => {
    const md = formatPlanMarkdown(plan, { action: 'boot', targets: { a: A } });
    expect(md).toContain('Rollout: 3 hosts, action boot');
    expect(md).toContain('| Batch | Host | System | Store path |\n| --- | --- | --- | --- |');
    expect(md).toContain(`| 1 (canary) | a |  | \`${A}\` |`);
    expect(md).toContain('| 2 | c |  |  |');
    // Systems are text like every cell fleet did not write: `x86\_64-linux` renders as x86_64-linux.
    const withSystems = formatPlanMarkdown(mixed, { targets: { web1: A, 'api-arm1': B } });
    expect(withSystems).toContain(`| 1 (canary) | web1 | x86\\_64-linux | \`${A}\` |`);
    expect(withSystems).toContain(`| 2 | api-arm1 | aarch64-linux | \`${B}\` |`);
    expect(withSystems).toContain('| 2 | db | x86\\_64-linux |  |');
  });
});

describe('results printing', () => {
  const report: RolloutReport = {
    results: [
      { host: 'a', outcome: 'succeeded', before: A, after: B, generation: 7, batch: 1, durationMs: 2500, message: 'switched to x', needsReboot: true },
      { host: 'b', outcome: 'rolled-back', before: A, after: A, generation: 9, batch: 2, durationMs: 61_000, message: 'health check "a | b"\nfailed' },
      { host: 'c', outcome: 'skipped', batch: 2, durationMs: 0, message: 'skipped: the canary batch failed' },
    ],
    counts: { succeeded: 1, degraded: 0, failed: 0, 'rolled-back': 1, skipped: 1, unreachable: 0 },
    hostsByOutcome: { succeeded: ['a'], degraded: [], failed: [], 'rolled-back': ['b'], skipped: ['c'], unreachable: [] },
    failures: 1,
    stopped: { afterBatch: 2, reason: '1 failed host exceeds max-errors 0 (0)' },
    ok: false,
    durationMs: 70_000,
  };

  it('shortens store paths for table cells', () => {
    expect(shortStorePath(A)).toBe('01234567…-nixos-system-a-24.11');
    expect(shortStorePath('not-a-path')).toBe('not-a-path');
    expect(shortStorePath(undefined)).toBe('');
  });

  it('writes a row per host and escapes what would break the table', () => {
    const md = formatResultsMarkdown(report);
    expect(md.split('\n')[0]).toBe('1 succeeded, 1 rolled-back, 1 skipped. Stopped after batch 2: 1 failed host exceeds max-errors 0 (0).');
    expect(md).toContain('| a | succeeded (needs reboot) | `01234567…-nixos-system-a-24.11` | `zyxwvsrq…-nixos-system-b-24.11` | 7 | 2.5s | switched to x |');
    expect(md).toContain('| b | rolled-back | `01234567…-nixos-system-a-24.11` | `01234567…-nixos-system-a-24.11` | 9 | 1m1s | health check "a \\| b" failed |');
    expect(md).toContain('| c | skipped |  |  |  |  | skipped: the canary batch failed |');
  });

  it('shows what a host said as text: no image, link or HTML from its message', () => {
    const hostile = { ...report, results: [{ ...(report.results[0] as RolloutReport['results'][number]), message: 'health check failed: ![x](https://evil/x.png) [click](https://evil) <img src=x>' }] };
    const md = formatResultsMarkdown(hostile);
    expect(md).not.toMatch(/!\[x\]\(|\[click\]\(|<img/);
    expect(md).toContain('health check failed: !\\[x\\](https://evil/x.png) \\[click\\](https://evil) &lt;img src=x&gt; |');
  });

  it('writes a line per host for the log', () => {
    const text = formatResultsText(report);
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toContain('c  skipped      skipped: the canary batch failed');
    expect(text).toContain('health check "a | b" failed');
    expect(text).toContain('stopped after batch 2');
  });
});
