import { parseInventoryText } from '../../../src/fleet/inventory.js';
import { promotionHosts } from '../../../src/wave/context.js';
import { nixString, parseExpected } from '../../../src/wave/expected.js';
import { revertChanges } from '../../../src/wave/revert.js';
import { payloadSystems } from '../../../src/wave/sources/deployments.js';
import { parseProbeOutput, probeArguments } from '../../../src/wave/sources/ssh.js';

const sys = (host: string, n = 1) => `/nix/store/${String(n).repeat(32)}-nixos-system-${host}`;
const now = new Date('2025-03-10T12:00:00Z');

describe('ssh probe output', () => {
  it('becomes a report as of now', () => {
    const out = `fleet-probe=1\ncurrent=${sys('web1', 2)}\nbooted=${sys('web1', 1)}\ngeneration=42\nadopted=1741500000\nfailed=nginx.service  sshd.socket \nreboot=1\n`;
    expect(parseProbeOutput('web1', out, now)).toEqual({
      host: 'web1', system: sys('web1', 2), booted: sys('web1', 1), profileGeneration: 42, failedUnits: ['nginx.service', 'sshd.socket'], needsReboot: true,
      lastError: null, reportedAt: now, adoptedAt: new Date(1_741_500_000_000), manifestSequence: null, agentVersion: 'ssh-probe', desired: null,
    });
  });

  it('tolerates missing details and refuses hosts that are not NixOS', () => {
    const minimal = parseProbeOutput('web1', `fleet-probe=1\ncurrent=${sys('web1')}\nbooted=\ngeneration=\nadopted=\nfailed=\nreboot=0\n`, now);
    expect(minimal).toMatchObject({ booted: sys('web1'), profileGeneration: null, adoptedAt: now, failedUnits: [] });
    expect(() => parseProbeOutput('web1', 'Welcome to Ubuntu', now)).toThrow('web1: the probe printed no report');
    expect(() => parseProbeOutput('web1', 'fleet-probe=1\ncurrent=\n', now)).toThrow(/not a store path/);
  });

  it('never dates an adoption in the future', () => {
    expect(parseProbeOutput('a', `fleet-probe=1\ncurrent=${sys('a')}\nadopted=${now.getTime() / 1000 + 600}\n`, now).adoptedAt).toEqual(now);
  });

  it("dates the report by the host's clock, so the gate can compare it with the runner's", () => {
    const hostClock = now.getTime() / 1000 - 86_400;
    const report = parseProbeOutput('a', `fleet-probe=1\ncurrent=${sys('a')}\nadopted=${hostClock - 3600}\nclock=${hostClock}\n`, now);
    expect(report.reportedAt).toEqual(new Date(hostClock * 1000));
    expect(report.adoptedAt).toEqual(new Date((hostClock - 3600) * 1000));
    // and an adoption after the host's own clock is capped at that clock
    expect(parseProbeOutput('a', `fleet-probe=1\ncurrent=${sys('a')}\nadopted=${hostClock + 60}\nclock=${hostClock}\n`, now).adoptedAt).toEqual(new Date(hostClock * 1000));
    expect(parseProbeOutput('a', `fleet-probe=1\ncurrent=${sys('a')}\nclock=soon\n`, now).reportedAt).toEqual(now);
  });

  it('refuses hosts that are not reached over ssh', () => {
    const inventory = parseInventoryText('environments: { p: {} }\nhosts: { c: { environment: p, deploy: { method: pull } } }\n', 'fleet.yaml');
    expect(() => probeArguments(inventory.hosts.c as NonNullable<typeof inventory.hosts.c>, {})).toThrow('c is deployed with pull, not ssh');
  });
});

describe('deployment payloads', () => {
  it('reads host paths in the shapes deployers write', () => {
    expect(payloadSystems({ hosts: { web1: sys('web1'), web2: { path: sys('web2') }, bad: '/tmp/x' } })).toEqual(new Map([['web1', sys('web1')], ['web2', sys('web2')]]));
    expect(payloadSystems({ hosts: [{ host: 'a', path: sys('a') }, { name: 'b', storePath: sys('b') }, { host: 'c', after: sys('c') }, 'x'] })).toEqual(new Map([['a', sys('a')], ['b', sys('b')], ['c', sys('c')]]));
    expect(payloadSystems(JSON.stringify({ 'store-paths': { a: sys('a') } }))).toEqual(new Map([['a', sys('a')]]));
    expect(payloadSystems('not json')).toEqual(new Map());
    expect(payloadSystems(null)).toEqual(new Map());
  });
});

describe('expected systems', () => {
  it('accepts host to store path objects for inventory hosts only', () => {
    expect(parseExpected({ web1: sys('web1') }, ['web1', 'web2'])).toEqual(new Map([['web1', sys('web1')]]));
    expect(() => parseExpected([sys('web1')], ['web1'])).toThrow(/Input "expected": ".*" must be a JSON object from host name to system path/);
    expect(() => parseExpected({ wbe1: sys('web1') }, ['web1'], 'baseline')).toThrow('Input "baseline": "wbe1" is not a host of the inventory; hosts: web1');
    expect(() => parseExpected({ web1: 'result' }, ['web1'])).toThrow('Input "expected": the path of web1, "result", is not a store path. Example: expected: {"web1": "/nix/store/<hash>-nixos-system-web1"}');
  });

  it('quotes attribute names for Nix without interpolation', () => {
    expect(nixString('web"1')).toBe('"web\\"1"');
    expect(nixString('a${b}')).toBe('"a\\${b}"');
  });
});

describe('promotion hosts', () => {
  const inventory = parseInventoryText(
    'environments: { staging: { allowed-refs: [refs/heads/staging, refs/heads/main] }, production: { allowed-refs: [refs/heads/main] } }\nhosts: { s1: { environment: staging }, p1: { environment: production, tags: [canary] } }\n',
    'fleet.yaml',
  );

  it('are the hosts whose environment allows the source branch, or the selected ones', () => {
    expect(promotionHosts(inventory, 'staging').map((h) => h.name)).toEqual(['s1']);
    expect(promotionHosts(inventory, 'staging', ['@canary']).map((h) => h.name)).toEqual(['p1']);
    expect(() => promotionHosts(inventory, 'develop')).toThrow(/no environment of fleet.yaml allows refs\/heads\/develop/);
  });
});

describe('revert of a promotion', () => {
  const e = (sha: string, mode = '100644') => ({ sha, mode, type: 'blob' });
  const before = new Map([['a', e('1')], ['b', e('2')], ['keep', e('k')]]);
  const merged = new Map([['a', e('1x')], ['c', e('3')], ['keep', e('k')], ['x', e('9', '100755')]]);

  it('undoes what the promotion changed on top of later work', () => {
    const head = new Map([...merged, ['later', e('l')]]);
    expect(revertChanges(before, merged, head)).toEqual({
      changes: [
        { path: 'a', mode: '100644', type: 'blob', sha: '1' },
        { path: 'b', mode: '100644', type: 'blob', sha: '2' },
        { path: 'c', mode: '100644', type: 'blob', sha: null },
        { path: 'x', mode: '100755', type: 'blob', sha: null },
      ],
      conflicts: [],
    });
  });

  it('skips what is already undone and reports files changed again', () => {
    const head = new Map([['a', e('1')], ['c', e('3-changed-again')], ['keep', e('k')], ['x', e('9', '100755')]]);
    expect(revertChanges(before, merged, head)).toEqual({
      changes: [
        { path: 'b', mode: '100644', type: 'blob', sha: '2' },
        { path: 'x', mode: '100755', type: 'blob', sha: null },
      ],
      conflicts: ['c'],
    });
  });
});
