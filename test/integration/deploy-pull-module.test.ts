import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/util/exec.js';

const MODULE = fileURLToPath(new URL('../../host/nixos/fleet-agent.nix', import.meta.url));
const AGENT = fileURLToPath(new URL('../../host/agent/fleet-agent.sh', import.meta.url));

/**
 * The NixOS module, evaluated by real Nix against a small stand-in for nixpkgs' lib (no nixpkgs
 * here): the unit it defines must hand the agent every variable the agent reads, and the timer
 * must have its jitter.
 */
const METRICS_ON = `{ prometheus = { enable = true; directory = "/var/lib/node-exporter-text"; configureNodeExporter = true; }; zabbix = { enable = true; path = "/var/lib/zabbix-fleet/fleet.json"; }; }`;
const METRICS_OFF = `{ prometheus = { enable = false; directory = "/var/lib/prometheus-node-exporter/text-files"; configureNodeExporter = true; }; zabbix = { enable = false; path = "/var/lib/fleet-agent-metrics/zabbix.json"; }; }`;
const HARNESS = (module: string, metrics = METRICS_ON, runTimeout = 'null') => `
let
  lib = {
    mkEnableOption = d: { type = "bool"; };
    mkOption = o: o;
    mkIf = c: v: if c then v else { };
    types = { str = "str"; bool = "bool"; strMatching = r: "str"; nonEmptyListOf = t: "list"; listOf = t: "list"; nullOr = t: "null"; attrsOf = t: "attrs"; submodule = m: "submodule"; ints = { positive = "int"; }; };
    concatStringsSep = builtins.concatStringsSep;
    mapAttrs' = f: set: builtins.listToAttrs (map (n: f n set.\${n}) (builtins.attrNames set));
    nameValuePair = name: value: { inherit name value; };
    optionalAttrs = c: a: if c then a else { };
    boolToString = b: if b then "true" else "false";
    literalExpression = x: x;
    hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  };
  pkgs = { writeShellScript = n: t: "/nix/store/00000000000000000000000000000000-\${n}"; coreutils = "coreutils"; curl = "curl"; bash = "/nix/store/00000000000000000000000000000000-bash"; };
  cfg = {
    enable = true; host = "clinic-kin"; environment = "production"; storeUrl = "https://cache.example.org";
    manifestPublicKeys = [ "fleet-manifest-1:AAAA" "fleet-manifest-2:BBBB" ]; substituters = [ "https://cache.example.org" ];
    mirrors = [ "http://cache.clinic.lan" "file:///media/fleet" ];
    trustedPublicKeys = [ "cache.example.org-1:CCCC" ]; reportUrl = "https://reports.example.org/clinic-kin.json";
    reportTokenFile = "/run/keys/fleet-report-token"; interval = "15min"; randomizedDelay = "10min";
    healthChecks = { web = "curl -fsS http://127.0.0.1/"; }; healthCheckTimeout = 30; switchTimeout = 900;
    allowReboot = true; rebootWindow = { lower = "01:00"; upper = "05:00"; }; activationWindow = { lower = "22:00"; upper = "05:00"; };
    runTimeout = ${runTimeout}; bandwidthLimit = "200k"; proxy = "http://proxy.example.org:3128"; noProxy = [ "cache.clinic.lan" ];
    metrics = ${metrics};
  };
  m = import ${module} { inherit lib pkgs; config = { services.fleet-agent = cfg; networking.hostName = "h"; nix.package = "nix"; systemd.package = "systemd"; }; };
  service = m.config.systemd.services.fleet-agent;
in {
  environment = service.environment;
  serviceConfig = service.serviceConfig;
  restartIfChanged = service.restartIfChanged;
  stopIfChanged = service.stopIfChanged;
  timer = m.config.systemd.timers.fleet-agent;
  etc = builtins.attrNames m.config.environment.etc;
  tmpfiles = m.config.systemd.tmpfiles.rules;
  nodeExporterFlags = m.config.services.prometheus.exporters.node.extraFlags;
  metricsDefaults = with m.options.services.fleet-agent.metrics; { directory = prometheus.directory.default; path = zabbix.path.default; };
}`;

interface Evaluated {
  environment: Record<string, string>;
  serviceConfig: Record<string, unknown>;
  restartIfChanged: boolean;
  stopIfChanged: boolean;
  timer: { wantedBy: string[]; timerConfig: Record<string, string> };
  etc: string[];
  tmpfiles: string[];
  /** A list when set; the stand-in's mkIf leaves {} when not. */
  nodeExporterFlags: string[] | Record<string, never>;
  metricsDefaults: { directory: string; path: string };
}

describe('host/nixos/fleet-agent.nix', () => {
  let dir: string;
  const evaluate = async (name: string, metrics?: string, runTimeout?: string): Promise<Evaluated> => {
    const file = join(dir, `${name}.nix`);
    await writeFile(file, HARNESS(MODULE, metrics, runTimeout));
    const out = await exec('nix-instantiate', ['--eval', '--read-write-mode', '--strict', '--json', file]);
    return JSON.parse(out.stdout) as Evaluated;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-agent-module-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the agent every setting it reads, runs it from a jittered timer and never restarts it during a switch', async () => {
    const config = await evaluate('eval');
    const script = await readFile(AGENT, 'utf8');
    const read = [...new Set([...script.matchAll(/\$\{(FLEET_AGENT_[A-Z_]+)/g)].map((m) => m[1] as string))].sort();
    expect(read.length).toBeGreaterThan(10);
    // Every variable is set except the profile path, whose default is NixOS's.
    expect(Object.keys(config.environment).filter((k) => k.startsWith('FLEET_')).sort()).toEqual(read.filter((v) => v !== 'FLEET_AGENT_PROFILE' && v !== 'FLEET_AGENT_CONNECT_TIMEOUT'));
    expect(config.environment).toMatchObject({
      FLEET_AGENT_HOST: 'clinic-kin',
      FLEET_AGENT_MANIFEST_KEYS: 'fleet-manifest-1:AAAA fleet-manifest-2:BBBB',
      FLEET_AGENT_MIRRORS: 'http://cache.clinic.lan file:///media/fleet',
      FLEET_AGENT_REBOOT_WINDOW: '01:00-05:00',
      FLEET_AGENT_ACTIVATION_WINDOW: '22:00-05:00',
      FLEET_AGENT_BANDWIDTH_LIMIT: '200k',
      // curl and Nix read these themselves.
      http_proxy: 'http://proxy.example.org:3128',
      https_proxy: 'http://proxy.example.org:3128',
      no_proxy: 'cache.clinic.lan',
      FLEET_AGENT_ALLOW_REBOOT: 'true',
      FLEET_AGENT_HEALTH_CHECKS_DIR: '/etc/fleet-agent/health-checks',
    });
    // No limit on a run by default: a download over a poor link may take days.
    expect(config.serviceConfig).toMatchObject({ Type: 'oneshot', StateDirectory: 'fleet-agent', StateDirectoryMode: '0700', TimeoutStartSec: 'infinity' });
    expect((await evaluate('run-timeout', undefined, '"2d"')).serviceConfig.TimeoutStartSec).toBe('2d');
    const execStart = /^\/nix\/store\/00000000000000000000000000000000-bash\/bin\/sh (\/nix\/store\/[a-z0-9]{32}-fleet-agent)\/agent\/fleet-agent\.sh run$/.exec(String(config.serviceConfig.ExecStart));
    expect(execStart).not.toBeNull();
    // The agent's files and the library it sources, nothing else of host/.
    const shipped = (await exec('find', [execStart?.[1] as string, '-type', 'f', '-printf', '%P\\n'])).stdout.split('\n').filter(Boolean).sort();
    expect(shipped).toEqual(['agent/README.md', 'agent/fetch-closure.sh', 'agent/fleet-agent.sh', 'lib/system.sh']);
    expect([config.restartIfChanged, config.stopIfChanged]).toEqual([false, false]);
    expect(config.timer.wantedBy).toEqual(['timers.target']);
    expect(config.timer.timerConfig).toMatchObject({ OnUnitActiveSec: '15min', RandomizedDelaySec: '10min' });
    expect(config.etc).toEqual(['fleet-agent/health-checks/web']);
  });

  it('turns the metrics outputs on: the agent gets their paths, the unit may write there, tmpfiles creates the directories', async () => {
    const on = await evaluate('metrics-on');
    expect(on.environment).toMatchObject({
      FLEET_AGENT_METRICS_PROMETHEUS_DIR: '/var/lib/node-exporter-text',
      FLEET_AGENT_METRICS_ZABBIX_FILE: '/var/lib/zabbix-fleet/fleet.json',
    });
    expect(on.serviceConfig.ReadWritePaths).toEqual(['-/var/lib/node-exporter-text', '-/var/lib/zabbix-fleet']);
    expect(on.tmpfiles).toEqual(['d /var/lib/node-exporter-text - - - -', 'd /var/lib/zabbix-fleet - - - -']);
    // The agent reads exactly these two variables for its metrics.
    const script = await readFile(AGENT, 'utf8');
    expect([...new Set([...script.matchAll(/\$\{(FLEET_AGENT_METRICS_[A-Z_]+)/g)].map((m) => m[1]))].sort()).toEqual(['FLEET_AGENT_METRICS_PROMETHEUS_DIR', 'FLEET_AGENT_METRICS_ZABBIX_FILE']);

    // Off by default (mkEnableOption); the default places are the ones host/agent/README.md gives.
    expect(on.metricsDefaults).toEqual({ directory: '/var/lib/prometheus-node-exporter/text-files', path: '/var/lib/fleet-agent-metrics/zabbix.json' });
    const off = await evaluate('metrics-off', METRICS_OFF);
    expect(Object.keys(off.environment).filter((k) => k.startsWith('FLEET_AGENT_METRICS_'))).toEqual([]);
    expect(off.serviceConfig).not.toHaveProperty('ReadWritePaths');
    expect(off.tmpfiles).toEqual([]);
    expect(off.nodeExporterFlags).toEqual({});
  });

  it("points NixOS's node exporter at the textfile directory, unless told not to", async () => {
    const on = await evaluate('exporter-on');
    expect(on.nodeExporterFlags).toEqual(['--collector.textfile.directory=/var/lib/node-exporter-text']);
    const mine = await evaluate('exporter-mine', METRICS_ON.replace('configureNodeExporter = true', 'configureNodeExporter = false'));
    expect(mine.nodeExporterFlags).toEqual({});
    expect(mine.environment.FLEET_AGENT_METRICS_PROMETHEUS_DIR).toBe('/var/lib/node-exporter-text');
  });
});
