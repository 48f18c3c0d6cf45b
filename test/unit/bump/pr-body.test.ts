import type { InputChange } from '../../../src/bump/lock-diff.js';
import { GITHUB_BODY_LIMIT } from '../../../src/bump/markdown.js';
import { bumpMarker, describeChangeLine, renderBumpBody, renderCommitMessage } from '../../../src/bump/pr-body.js';
import type { BumpReport, FlakeBump, HostClosure } from '../../../src/bump/report.js';

const rev = (n: number) => n.toString(16).padStart(40, 'a');

function change(name: string, n = 1): InputChange {
  const path = name.split('/');
  return {
    path,
    name,
    kind: 'updated',
    transitive: path.length > 1,
    old: { locked: `github:NixOS/${path.at(-1)}/${rev(n)}`, rev: rev(n), shortRev: rev(n).slice(0, 7), date: '2024-11-01', original: `github:NixOS/${path.at(-1)}` },
    new: { locked: `github:NixOS/${path.at(-1)}/${rev(n + 1)}`, rev: rev(n + 1), shortRev: rev(n + 1).slice(0, 7), date: '2024-11-08', original: `github:NixOS/${path.at(-1)}` },
    compareUrl: `https://github.com/NixOS/${path.at(-1)}/compare/${rev(n)}...${rev(n + 1)}`,
  };
}

function host(name: string, packages: number): HostClosure {
  return {
    host: name,
    before: `/nix/store/${'a'.repeat(32)}-nixos-system-${name}`,
    after: `/nix/store/${'b'.repeat(32)}-nixos-system-${name}`,
    diff: {
      before: { paths: 100, size: 100 * 1024 * 1024 },
      after: { paths: 101, size: 101 * 1024 * 1024 },
      sizeDelta: 1024 * 1024,
      changes: Array.from({ length: packages }, (_, i) => ({ name: `package-${i}`, kind: 'changed' as const, removedVersions: ['1.0'], addedVersions: ['1.1'], sizeDelta: 2048 })),
    },
  };
}

function report(flake: Partial<FlakeBump> = {}, extra: Partial<BumpReport> = {}): BumpReport {
  return {
    group: 'all',
    requested: [],
    flakes: [{ flake: '.', lockPath: 'flake.lock', changes: [change('nixpkgs'), change('home-manager/nixpkgs', 5)], unexpected: [], closures: [], checks: [], ...flake }],
    ...extra,
  };
}

const marker = bumpMarker('flake-bump');

describe('renderBumpBody', () => {
  it('starts with the marker and summarizes the inputs with compare links', () => {
    const body = renderBumpBody(report(), { marker });
    expect(body.startsWith('<!-- fleet:flake-bump branch=flake-bump -->\n')).toBe(true);
    expect(body).toContain('Updates 2 inputs in `flake.lock` (1 direct, 1 through other inputs).');
    expect(body).toContain(`| \`nixpkgs\` | \`${rev(1).slice(0, 7)}\` 2024-11-01 | \`${rev(2).slice(0, 7)}\` 2024-11-08 | [compare](https://github.com/NixOS/nixpkgs/compare/${rev(1)}...${rev(2)}) |`);
    expect(body).toContain('| `home-manager/nixpkgs` ↳ |');
  });

  it('is the same text for the same report (so an unchanged bump leaves the description alone)', () => {
    expect(renderBumpBody(report(), { marker })).toBe(renderBumpBody(report(), { marker }));
  });

  it('shows added, removed and follows changes', () => {
    const body = renderBumpBody(
      report({
        changes: [
          { path: ['agenix'], name: 'agenix', kind: 'added', transitive: false, new: { locked: 'github:ryantm/agenix/x', shortRev: 'abcdef0' } },
          { path: ['old'], name: 'old', kind: 'removed', transitive: false, old: { locked: 'path:/x', narHash: 'sha256-AAAAAAAAAAAAAAAAAAAA' } },
          { path: ['hm', 'nixpkgs'], name: 'hm/nixpkgs', kind: 'follows', transitive: true, oldFollows: 'nixpkgs', new: { locked: 'github:NixOS/nixpkgs/y', shortRev: '1234567', date: '2024-01-01' } },
        ],
      }),
      { marker },
    );
    expect(body).toContain('| `agenix` | — | `abcdef0` | added |');
    expect(body).toContain('| `old` | `sha256-AAAAAAAA` | — | removed |');
    expect(body).toContain('| `hm/nixpkgs` ↳ | follows `nixpkgs` | `1234567` 2024-01-01 | follows changed |');
  });

  it('lists failed checks with their errors, and hosts that could not be compared', () => {
    const body = renderBumpBody(
      report({
        checks: [
          { kind: 'eval', target: 'web1', ok: true },
          { kind: 'eval', target: 'db1', ok: false, error: 'error: attribute `postgresql_12` missing\n  at db1.nix:3' },
        ],
        closures: [{ host: 'db1', error: 'does not build after the update: builder failed' }],
        unexpected: [change('nixpkgs')],
      }),
      { marker },
    );
    expect(body).toContain('❌ 1 of 2 checks failed: eval db1.');
    expect(body).toContain('| eval db1 | ❌ failed |');
    expect(body).toContain('<details><summary>eval db1: error</summary>');
    expect(body).toContain('attribute `postgresql_12` missing');
    expect(body).toContain('| db1 | — | — | not compared: does not build after the update: builder failed |');
    expect(body).toContain('⚠️ Nix also changed inputs that were not asked for: `nixpkgs`.');
  });

  it('stays under GitHub’s limit, cutting host details first, then rows, and says so', () => {
    const changes = Array.from({ length: 1500 }, (_, i) => change(`input-${i}`, i));
    const closures = Array.from({ length: 300 }, (_, i) => host(`host-${i}`, 40));
    const body = renderBumpBody(report({ changes, closures, checks: [{ kind: 'eval', target: 'x', ok: false, error: 'boom' }] }), { marker });
    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(body.startsWith(marker)).toBe(true);
    expect(body).toMatch(/_… \d+ more (host details|rows|hosts) cut to keep this description under GitHub's 65,536-character limit/);
    // What a reviewer needs most survives: the summary, the checks, the first input rows.
    expect(body).toContain('❌ 1 of 1 checks failed');
    expect(body).toContain('| eval x | ❌ failed |');
    expect(body).toContain('| `input-0` |');
    // Whole blocks only: every <details> is closed, the footer is there.
    expect(body.split('<details>').length).toBe(body.split('</details>').length);
    expect(body).toContain('Opened by fleet action-flake-bump');
  });

  it('cuts nothing from a body that fits', () => {
    const body = renderBumpBody(report({ closures: [host('web1', 3)] }), { marker });
    expect(body).not.toContain('cut to keep');
    expect(body).toContain('| web1 | 100 MiB → 101 MiB | +1.0 MiB | 3 changed |');
    expect(body).toContain('| package-2 | 1.0 → 1.1 | +2.0 KiB |');
  });

  it('honours a smaller limit', () => {
    const body = renderBumpBody(report({ changes: Array.from({ length: 100 }, (_, i) => change(`input-${i}`, i)) }), { marker, limit: 3000 });
    expect(body.length).toBeLessThanOrEqual(3000);
    expect(body).toContain('more rows cut');
  });

  it('titles each flake when a bump covers several', () => {
    const two = report();
    two.flakes.push({ flake: 'hosts/edge', lockPath: 'hosts/edge/flake.lock', changes: [change('nixpkgs', 9)], unexpected: [], closures: [], checks: [] });
    const body = renderBumpBody(two, { marker });
    expect(body).toContain('## Flake at the repository root');
    expect(body).toContain('## Flake `hosts/edge`');
    expect(body).toContain('in `flake.lock`, `hosts/edge/flake.lock`');
  });
});

describe('commit message', () => {
  it('is the title and one line per input, like Nix writes them', () => {
    const message = renderCommitMessage('flake.lock: update', report());
    expect(message).toBe(
      `flake.lock: update\n\n• Updated input 'nixpkgs': ${rev(1).slice(0, 7)} (2024-11-01) → ${rev(2).slice(0, 7)} (2024-11-08)\n• Updated input 'home-manager/nixpkgs': ${rev(5).slice(0, 7)} (2024-11-01) → ${rev(6).slice(0, 7)} (2024-11-08)\n`,
    );
  });

  it('describes follows changes', () => {
    expect(describeChangeLine({ path: ['a', 'b'], name: 'a/b', kind: 'follows', transitive: true, oldFollows: 'b', newFollows: 'c' })).toBe("Changed input 'a/b': follows 'b' → follows 'c'");
  });
});
