import { formatDuration } from '../../src/util/duration.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { setWaveChannel } from '../../src/fleet/edit.js';
import { totalNarSize } from '../../src/nix/path-info.js';
import { formatBytes } from '../../src/util/bytes.js';
import { evaluateToplevels, evaluateToplevelsWithInventory } from '../../src/wave/expected.js';
import { runWave } from '../../src/wave/run.js';
import { cacheClosures, firstClosure, localClosures, sizeChange } from '../../src/wave/sizes.js';
import { buildExampleFleet, type ExampleFleetBuild } from '../support/example-fleet.js';
import { offlineNix, runNix, writeFlake } from '../support/nix.js';
import { openPulls, report, startWaveBed } from './wave-fixtures.js';

/** Closure sizes and downloads from real Nix: the example fleet at two generations, a file:// cache written by `nix copy`. */
describe('closure size changes for the advance table', () => {
  const nix = offlineNix();
  let v1: ExampleFleetBuild;
  let v2: ExampleFleetBuild;
  let cacheDir: string;
  let cache: OpenedStore;

  beforeAll(async () => {
    [v1, v2] = await Promise.all([buildExampleFleet({ variant: '1', hosts: ['web1', 'web2'] }), buildExampleFleet({ variant: 'sizes-2', hosts: ['web1', 'web2'] })]);
    cacheDir = await mkdtemp(join(tmpdir(), 'fleet-sizes-cache-'));
    const copy = await runNix(['copy', '--to', `file://${cacheDir}?compression=xz`, v1.toplevels.web1 as string, v2.toplevels.web1 as string, v2.toplevels.web2 as string]);
    expect(copy.stderr).not.toMatch(/error/);
    expect(copy.code).toBe(0);
    cache = openStore(`file://${cacheDir}`);
  });

  afterAll(async () => {
    await cache.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('counts what a host downloads from the cache: the compressed paths of the new closure it lacks', async () => {
    const from = v1.toplevels.web1 as string;
    const to = v2.toplevels.web1 as string;
    const change = await sizeChange('web1', from, to, cacheClosures(cache));
    const [before, after] = await Promise.all([nix.pathInfo([from], { recursive: true }), nix.pathInfo([to], { recursive: true })]);
    expect(change).toMatchObject({ host: 'web1', closureBefore: totalNarSize(before), closureAfter: totalNarSize(after), change: totalNarSize(after) - totalNarSize(before), downloadCompressed: true });
    const fresh = after.filter((info) => !before.some((b) => b.path === info.path));
    expect(fresh.length).toBeGreaterThan(0);
    expect(change.download).toBeGreaterThan(0);
    // xz makes the download smaller than the NARs it unpacks to.
    expect(change.download).toBeLessThan(totalNarSize(fresh));
  });

  it('falls back to the local store (uncompressed) and says when neither knows a path', async () => {
    const sources = firstClosure(cacheClosures(cache), localClosures(nix));
    // web2's old system was never copied to the cache: the local store answers for it, the cache
    // for the new closure, so the download is still counted compressed.
    const mixed = await sizeChange('web2', v1.toplevels.web2, v2.toplevels.web2, sources);
    expect(mixed).toMatchObject({ downloadCompressed: true });
    const local = await sizeChange('web2', v1.toplevels.web2, v2.toplevels.web2, localClosures(nix));
    expect(local).toMatchObject({ change: mixed.change, downloadCompressed: false });
    expect(local.download).toBeGreaterThan(mixed.download as number);
    const missing = await sizeChange('web2', '/nix/store/00000000000000000000000000000000-nixos-system-gone', v2.toplevels.web2, sources);
    expect(missing).toMatchObject({ note: 'the running closure is in neither the cache nor the local store' });
    expect(missing.download).toBeUndefined();
  });

  it('evaluates the next systems with the edited inventory in a copy of the flake', async () => {
    const inventory = JSON.stringify(
      { waves: { first: { order: 1, channel: 'nixos-25.05' }, middle: { order: 2, channel: 'nixos-24.11' } }, hosts: { a: { wave: 'first' }, b: { wave: 'middle' } } },
      null,
      2,
    );
    const flake = await writeFlake({
      'fleet.json': inventory,
      'flake.nix': `{
  outputs = { self }:
    let
      fleet = builtins.fromJSON (builtins.readFile ./fleet.json);
      channelOf = host: fleet.waves.\${fleet.hosts.\${host}.wave}.channel;
      system = host: builtins.derivation { name = "nixos-system-\${host}-\${channelOf host}"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
    in { nixosConfigurations = builtins.mapAttrs (host: _: { config.system.build.toplevel = system host; }) fleet.hosts; };
}
`,
    });
    try {
      const hosts = [{ name: 'a', attribute: 'a' }, { name: 'b', attribute: 'b' }];
      const now = await evaluateToplevels(nix, flake.ref, hosts);
      expect(now.get('b')).toMatch(/-nixos-system-b-nixos-24\.11$/);
      const edited = setWaveChannel(inventory, 'middle', 'nixos-25.05', { json: true }).text;
      const next = await evaluateToplevelsWithInventory(nix, flake.dir, 'fleet.json', edited, hosts);
      expect(next.get('b')).toMatch(/-nixos-system-b-nixos-25\.05$/);
      expect(next.get('a')).toBe(now.get('a'));
      await expect(evaluateToplevels(nix, flake.ref, [{ name: 'c', attribute: 'c' }])).rejects.toThrow(/c/);
    } finally {
      await flake.cleanup();
    }
  });

  it('puts the sizes in the advance pull request', async () => {
    const bed = await startWaveBed();
    try {
      await bed.putReports([report('stage1'), report('stage2'), report('web1', { system: v1.toplevels.web1 as string, fetchBytesPerSecond: 2048 }), report('web2', { system: v1.toplevels.web2 as string })]);
      const result = await runWave(
        bed.options({
          mode: 'advance',
          nextExpected: async () => new Map([['web1', v2.toplevels.web1 as string], ['web2', v2.toplevels.web2 as string]]),
          closures: firstClosure(cacheClosures(cache), localClosures(nix)),
        }),
      );
      expect(result.decision).toBe('advanced');
      const web1 = result.advance?.sizes.find((s) => s.host === 'web1');
      expect(web1).toMatchObject({ from: v1.toplevels.web1, to: v2.toplevels.web1, downloadCompressed: true });
      const [pull] = await openPulls(bed);
      expect(pull?.body).toContain(`| web1 | \`${v1.toplevels.web1}\` | \`${v2.toplevels.web1}\` | ${(web1?.change ?? 0) >= 0 ? '+' : '−'}${formatBytes(Math.abs(web1?.change ?? 0))}`);
      // At the rate web1's link last delivered; web2 never said.
      expect(pull?.body).toContain(`| ${formatBytes(web1?.download ?? 0)} | about ${formatDuration(Math.ceil((web1?.download ?? 0) / 2048) * 1000)} at 2.0 KiB/s |`);
      const web2 = result.advance?.sizes.find((s) => s.host === 'web2');
      expect(pull?.body).toContain(`| web2 | \`${v1.toplevels.web2}\` | \`${v2.toplevels.web2}\` | +${formatBytes(web2?.change ?? -1)} (to ${formatBytes(web2?.closureAfter ?? 0)}) | ${formatBytes(web2?.download ?? 0)} | no rate reported |`);
      bed.github.assertNoViolations();
    } finally {
      await bed.stop();
    }
  });
});
