import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { parseSigningKey, type SigningKey } from '../../src/cache/signing.js';
import { publishManifest, prepareManifestStore, readReport } from '../../src/deploy/pull/index.js';
import { exec } from '../../src/util/exec.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { freePort, startNginxCache, startS3rver, type NginxCacheHandle, type S3rverHandle } from '../support/servers/index.js';
import { agentPaths, generateKeyPair, pushClosures, runAgent, type AgentConfig, type KeyPair } from './deploy-pull-fixture.js';

/**
 * The pull agent's metrics outputs for real: a simulated host runs the agent with the node_exporter
 * textfile and the Zabbix JSON turned on; Prometheus' own promtool checks the textfile, and every
 * value is held against the host's state as the harness reads it from the host's directory.
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Textfile {
  samples: Sample[];
  help: Map<string, string>;
  types: Map<string, string>;
}

/** Label values as the exposition format escapes them: \\, \" and \n. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('="', i);
    if (eq < 0) throw new Error(`bad labels: ${text}`);
    const key = text.slice(i, eq);
    let value = '';
    let j = eq + 2;
    for (; text[j] !== '"'; j++) {
      if (j >= text.length) throw new Error(`unterminated label value: ${text}`);
      if (text[j] === '\\') {
        j++;
        const escaped = text[j];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`bad escape \\${escaped} in ${text}`);
      } else {
        value += text[j];
      }
    }
    labels[key] = value;
    i = j + 1;
    if (text[i] === ',') i++;
  }
  return labels;
}

function parseTextfile(text: string): Textfile {
  const parsed: Textfile = { samples: [], help: new Map(), types: new Map() };
  for (const line of text.split('\n').filter(Boolean)) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? parsed.help : parsed.types).set(meta[2] as string, meta[3] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    parsed.samples.push({ name: sample[1] as string, labels: parseLabels(sample[2] as string), value: Number(sample[3]) });
  }
  return parsed;
}

/** The one sample of NAME (undefined when absent); fails when there are several. */
function valueOf(file: Textfile, name: string): number | undefined {
  const found = file.samples.filter((s) => s.name === name);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name}`);
  return found[0]?.value;
}

function labelsOf(file: Textfile, name: string): Record<string, string> | undefined {
  return file.samples.find((s) => s.name === name)?.labels;
}

/** `promtool check metrics`, the file on stdin: exit code and every complaint. */
async function promtool(text: string): Promise<{ code: number | null; output: string }> {
  const result = await exec('/usr/bin/promtool', ['check', 'metrics'], { input: text, allowFailure: true, timeoutMs: 30_000 });
  return { code: result.code, output: (result.stdout + result.stderr).trim() };
}

type Zabbix = Record<string, string | number | null>;

describe('pull agent metrics: node_exporter textfile and Zabbix JSON', () => {
  const ENV = 'production';
  const NAMES = ['metrics-a', 'metrics-b', 'metrics-c', 'metrics-d', 'metrics-e'];
  let fleet: SimulatedFleet;
  let s3: S3rverHandle;
  let cache: NginxCacheHandle;
  let store: OpenedStore;
  let manifestKey: SigningKey;
  let cacheKey: KeyPair;
  let v1: string;
  let v2: string;

  const host = (name: string): SimulatedHost => fleet.hosts.find((h) => h.name === name) as SimulatedHost;
  /** Where this host's outputs go (in its own directory, which the host sees at the same path). */
  const outputs = (h: SimulatedHost) => ({ dir: join(h.root, 'text-files'), prom: join(h.root, 'text-files', 'fleet.prom'), zabbix: join(h.root, 'zabbix', 'fleet.json') });
  const config = (h: SimulatedHost, overrides: Partial<AgentConfig> = {}): AgentConfig => ({
    host: h.name,
    environment: ENV,
    storeUrl: s3.url,
    manifestKeys: manifestKey.publicKey.text,
    substituters: cache.url,
    trustedPublicKeys: cacheKey.public,
    prometheusDir: outputs(h).dir,
    zabbixFile: outputs(h).zabbix,
    ...overrides,
  });
  const publish = (name: string, system: string, action: 'switch' | 'boot' = 'switch') =>
    publishManifest({ host: name, environment: ENV, system, wave: 'middle', commit: 'b'.repeat(40), action }, { store, signingKey: manifestKey });
  const report = async (name: string) => {
    const status = await readReport(store, name);
    if (!status) throw new Error(`no report for ${name}`);
    return status;
  };
  /** Both files, after promtool passed the textfile without a single complaint. */
  const readOutputs = async (h: SimulatedHost): Promise<{ prom: Textfile; zabbix: Zabbix; text: string }> => {
    const text = await readFile(outputs(h).prom, 'utf8');
    expect(await promtool(text)).toEqual({ code: 0, output: '' });
    const prom = parseTextfile(text);
    // Every family has its HELP and TYPE; all are gauges (nothing here only ever goes up).
    for (const name of new Set(prom.samples.map((s) => s.name))) {
      expect(prom.help.get(name)).toBeTruthy();
      expect(prom.types.get(name)).toBe('gauge');
    }
    const zabbix = JSON.parse(await readFile(outputs(h).zabbix, 'utf8')) as Zabbix;
    return { prom, zabbix, text };
  };
  /** The facts both files give, which must agree. */
  const expectSameFacts = (prom: Textfile, zabbix: Zabbix) => {
    const system = labelsOf(prom, 'fleet_host_system_info');
    expect(zabbix).toMatchObject({
      current_system: system?.current ?? null,
      booted_system: system?.booted ?? null,
      desired_system: system?.desired || null,
      up_to_date: valueOf(prom, 'fleet_host_up_to_date') ?? null,
      adopted_timestamp_seconds: valueOf(prom, 'fleet_host_adopted_timestamp_seconds') ?? null,
      last_run_timestamp_seconds: valueOf(prom, 'fleet_agent_last_run_timestamp_seconds') ?? null,
      last_run_success: valueOf(prom, 'fleet_agent_last_run_success') ?? null,
      failed_units: valueOf(prom, 'fleet_host_failed_units') ?? null,
      needs_reboot: valueOf(prom, 'fleet_host_needs_reboot') ?? null,
      manifest_sequence: valueOf(prom, 'fleet_manifest_sequence') ?? null,
      profile_generation: valueOf(prom, 'fleet_host_profile_generation') ?? null,
      download_paths_remaining: valueOf(prom, 'fleet_host_download_paths_remaining') ?? null,
      download_bytes_remaining: valueOf(prom, 'fleet_host_download_bytes_remaining') ?? null,
      agent_version: labelsOf(prom, 'fleet_agent_info')?.version,
    });
    expect(String(zabbix.failed_unit_names).split(' ').filter(Boolean)).toEqual(prom.samples.filter((s) => s.name === 'fleet_host_failed_unit').map((s) => s.labels.unit));
    for (const sample of prom.samples) expect(sample.labels.host).toBe(zabbix.host);
  };
  const adoptedAt = async (h: SimulatedHost) => Math.floor((await lstat(join(h.root, 'run/current-system'))).mtimeMs / 1000);

  beforeAll(async () => {
    const [first, second] = await Promise.all([buildExampleFleet({ variant: '1', hosts: ['clinic-kin'] }), buildExampleFleet({ variant: 'pull-2', hosts: ['clinic-kin'] })]);
    v1 = first.toplevels['clinic-kin'] as string;
    v2 = second.toplevels['clinic-kin'] as string;
    manifestKey = parseSigningKey((await generateKeyPair('fleet-manifest-metrics-1')).secret);
    cacheKey = await generateKeyPair('cache-metrics-1');
    [s3, cache, fleet] = await Promise.all([startS3rver(), startNginxCache(), startHosts(NAMES.length, { system: v1, names: (i) => NAMES[i] as string })]);
    await pushClosures(cache.url, cacheKey, [v2]);
    store = openStore(s3.cacheUrl, { credentials: s3.credentials });
    await prepareManifestStore(store);
    for (const h of fleet.hosts) {
      await mkdir(outputs(h).dir, { recursive: true });
      await mkdir(join(h.root, 'zabbix'), { recursive: true });
    }
  });

  afterAll(async () => {
    await store?.close();
    await Promise.all([fleet?.stop(), s3?.stop(), cache?.stop()]);
    await cleanupExampleFleets();
  });

  it('after a manifest is applied: up to date, the run succeeded, values as the host has them, both files agree', async () => {
    const h = host('metrics-a');
    await publish(h.name, v2);
    const before = Math.floor(Date.now() / 1000);
    const run = await runAgent(h, config(h));
    expect(run.code).toBe(0);
    const after = Math.ceil(Date.now() / 1000);
    expect(await h.currentSystem()).toBe(v2);

    const { prom, zabbix } = await readOutputs(h);
    expect(labelsOf(prom, 'fleet_host_system_info')).toEqual({ host: h.name, current: v2, booted: v1, desired: v2 });
    expect(valueOf(prom, 'fleet_host_up_to_date')).toBe(1);
    expect(valueOf(prom, 'fleet_agent_last_run_success')).toBe(1);
    const lastRun = valueOf(prom, 'fleet_agent_last_run_timestamp_seconds') as number;
    expect(lastRun).toBeGreaterThanOrEqual(before);
    expect(lastRun).toBeLessThanOrEqual(after);
    expect(valueOf(prom, 'fleet_host_adopted_timestamp_seconds')).toBe(await adoptedAt(h));
    expect(valueOf(prom, 'fleet_host_failed_units')).toBe(0);
    expect(prom.samples.filter((s) => s.name === 'fleet_host_failed_unit')).toEqual([]);
    expect(valueOf(prom, 'fleet_host_needs_reboot')).toBe(0);
    expect(valueOf(prom, 'fleet_manifest_sequence')).toBe(1);
    expect(valueOf(prom, 'fleet_host_profile_generation')).toBe(await h.profileGeneration());
    // Fetched and running: nothing pending (agent-download.test.ts covers a pending fetch).
    expect(valueOf(prom, 'fleet_host_download_paths_remaining')).toBe(0);
    expect(valueOf(prom, 'fleet_host_download_bytes_remaining')).toBe(0);
    expect(valueOf(prom, 'fleet_host_download_bytes_total')).toBeUndefined();

    expect(zabbix).toMatchObject({ host: h.name, up_to_date: 1, last_run_success: 1, failed_units: 0, failed_unit_names: '', needs_reboot: 0, manifest_sequence: 1, last_error: null });
    expectSameFacts(prom, zabbix);
    // The same facts as the status report.
    const status = await report(h.name);
    expect(status).toMatchObject({ system: v2, booted: v1, desired: v2, manifestSequence: 1, needsReboot: false, failedUnits: [] });
    expect(valueOf(prom, 'fleet_host_profile_generation')).toBe(status.profileGeneration);
    expect(lastRun).toBe(Math.floor(status.reportedAt.getTime() / 1000));
    // Written through a temporary file beside it, which is gone.
    expect((await readdir(outputs(h).dir)).sort()).toEqual(['fleet.prom']);
  });

  it("counts failed units, names each in a label escaped per the exposition format (systemd's \\x escapes), and a report leaves the last run alone", async () => {
    const h = host('metrics-a');
    const lastRun = valueOf(parseTextfile(await readFile(outputs(h).prom, 'utf8')), 'fleet_agent_last_run_timestamp_seconds');
    const units = ['nginx.service', 'systemd-fsck@dev-disk-by\\x2dlabel-root.service'];
    await writeFile(join(h.root, 'run/fleet-sim/failed-units'), `${units.join('\n')}\n`);
    try {
      const run = await runAgent(h, config(h), 'report');
      expect(run.code).toBe(0);
      const { prom, zabbix, text } = await readOutputs(h);
      expect(valueOf(prom, 'fleet_host_failed_units')).toBe(2);
      expect(prom.samples.filter((s) => s.name === 'fleet_host_failed_unit').map((s) => [s.labels.unit, s.value])).toEqual(units.map((u) => [u, 1]));
      // On the wire the backslash is doubled.
      expect(text).toContain('unit="systemd-fsck@dev-disk-by\\\\x2dlabel-root.service"');
      expect(zabbix).toMatchObject({ failed_units: 2, failed_unit_names: units.join(' ') });
      expectSameFacts(prom, zabbix);
      expect((await report(h.name)).failedUnits).toEqual(units);
      expect(valueOf(prom, 'fleet_agent_last_run_timestamp_seconds')).toBe(lastRun);
      expect(valueOf(prom, 'fleet_agent_last_run_success')).toBe(1);
    } finally {
      await rm(join(h.root, 'run/fleet-sim/failed-units'), { force: true });
    }
  });

  it('a boot manifest: the run succeeded, but the host is not up to date and needs a reboot', async () => {
    const h = host('metrics-b');
    await publish(h.name, v2, 'boot');
    const run = await runAgent(h, config(h));
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(v1);
    expect(await h.profileSystem()).toBe(v2);
    const { prom, zabbix } = await readOutputs(h);
    expect(valueOf(prom, 'fleet_agent_last_run_success')).toBe(1);
    expect(valueOf(prom, 'fleet_host_up_to_date')).toBe(0);
    expect(valueOf(prom, 'fleet_host_needs_reboot')).toBe(1);
    expect(labelsOf(prom, 'fleet_host_system_info')).toEqual({ host: h.name, current: v1, booted: v1, desired: v2 });
    expect((await report(h.name)).needsReboot).toBe(true);
    expect(zabbix).toMatchObject({ up_to_date: 0, needs_reboot: 1, last_run_success: 1 });
    expectSameFacts(prom, zabbix);
  });

  it('a failed run (cache unreachable): last_run_success 0, not up to date, the textfile still valid; the retry brings both back', async () => {
    const h = host('metrics-c');
    await publish(h.name, v2);
    const closed = await freePort();
    const run = await runAgent(h, config(h, { substituters: `http://127.0.0.1:${closed}` }));
    expect(run.code).toBe(1);
    expect(await h.currentSystem()).toBe(v1);
    const { prom, zabbix } = await readOutputs(h);
    expect(valueOf(prom, 'fleet_agent_last_run_success')).toBe(0);
    // The manifest was accepted but its closure could not be fetched: the host is behind.
    expect(valueOf(prom, 'fleet_host_up_to_date')).toBe(0);
    expect(labelsOf(prom, 'fleet_host_system_info')).toMatchObject({ current: v1, desired: v2 });
    // Nothing was applied yet.
    expect(valueOf(prom, 'fleet_manifest_sequence')).toBeUndefined();
    expect(zabbix).toMatchObject({ last_run_success: 0, up_to_date: 0, manifest_sequence: null });
    expect(String(zabbix.last_error)).toContain(`could not fetch ${v2} from http://127.0.0.1:${closed}`);
    // With the cache down the agent cannot tell how much is left: left out, not reported as 0.
    expect(valueOf(prom, 'fleet_host_download_paths_remaining')).toBeUndefined();
    expect(valueOf(prom, 'fleet_host_download_bytes_remaining')).toBeUndefined();
    expect(zabbix).toMatchObject({ download_paths_remaining: null, download_bytes_remaining: null });
    expectSameFacts(prom, zabbix);

    const retry = await runAgent(h, config(h));
    expect(retry.code).toBe(0);
    const again = await readOutputs(h);
    expect([valueOf(again.prom, 'fleet_agent_last_run_success'), valueOf(again.prom, 'fleet_host_up_to_date')]).toEqual([1, 1]);
    expect(again.zabbix).toMatchObject({ last_run_success: 1, up_to_date: 1, last_error: null });
  });

  it('disabled (the default): no textfile, no JSON, nothing else written beside the status report', async () => {
    const h = host('metrics-d');
    await publish(h.name, v2);
    const run = await runAgent(h, config(h, { prometheusDir: undefined, zabbixFile: undefined }));
    expect(run.code).toBe(0);
    expect(await h.currentSystem()).toBe(v2);
    expect(await readdir(outputs(h).dir)).toEqual([]);
    expect(await readdir(join(h.root, 'zabbix'))).toEqual([]);
    const found = await exec('find', [h.root, '-xdev', '(', '-name', '*.prom', '-o', '-name', '*zabbix*.json', '-o', '-name', 'fleet.json', ')', '-print']);
    expect(found.stdout.trim()).toBe('');
    // The state directory holds the agent's own files only.
    expect((await readdir(agentPaths(h).state)).filter((f) => /prom|zabbix/.test(f))).toEqual([]);
  });

  it('escapes a host name with a double quote, backslashes and a newline (the agent takes FLEET_AGENT_HOST as given)', async () => {
    const h = host('metrics-e');
    // NixOS's module allows only [A-Za-z0-9._-] names, but the script itself does not check.
    const name = 'odd "quoted" \\back\\slash\nnext line';
    const reportFile = join(h.root, 'odd-report.json');
    const run = await runAgent(h, config(h, { host: name, reportUrl: `file://${reportFile}` }), 'report');
    expect(run.code).toBe(0);
    const { prom, zabbix, text } = await readOutputs(h);
    for (const sample of prom.samples) expect(sample.labels.host).toBe(name);
    expect(text).toContain('host="odd \\"quoted\\" \\\\back\\\\slash\\nnext line"');
    // JSON strings from the agent turn control characters into spaces.
    expect(zabbix.host).toBe(name.replace('\n', ' '));
    // (fleet's own reader refuses such a report: not an inventory host name.)
    expect((JSON.parse(await readFile(reportFile, 'utf8')) as { host: string }).host).toBe(name.replace('\n', ' '));
    // No run yet on this host: the last-run metrics are left out, not made up.
    expect(valueOf(prom, 'fleet_agent_last_run_success')).toBeUndefined();
    expect(zabbix).toMatchObject({ last_run_success: null, last_run_timestamp_seconds: null, up_to_date: null });
    expect(valueOf(prom, 'fleet_host_up_to_date')).toBeUndefined();
  });
});
