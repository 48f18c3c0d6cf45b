import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../src/util/exec.js';
import { offlineNixEnv } from '../support/nix.js';

const MODULE = fileURLToPath(new URL('../../host/nixos/fleet-cache-server.nix', import.meta.url));
const SERVER_DIR = fileURLToPath(new URL('../../host/cache-server/', import.meta.url));
const SECRET = '/run/keys/fleet-report-secret';
const WRITERS = '/run/keys/fleet-cache-writers';

/**
 * The cache server's NixOS module, evaluated by real Nix against a small stand-in for nixpkgs'
 * lib (no nixpkgs here). runCommand stands in as a plain derivation built with this machine's
 * tools, so the host list is really made from an inventory; the module's own files are copied for real.
 */
const HARNESS = (module: string, settings: string) => `
let
  lib = {
    mkEnableOption = d: { type = "bool"; };
    mkOption = o: o;
    mkIf = c: v: if c then v else { };
    mkDefault = v: v;
    types = { str = "str"; path = "path"; strMatching = r: "str"; listOf = t: "list"; nullOr = t: "null"; };
    concatStringsSep = builtins.concatStringsSep;
    optionalString = c: s: if c then s else "";
    escapeShellArgs = args: builtins.concatStringsSep " " (map (a: "'" + a + "'") args);
    literalExpression = x: x;
    hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
  };
  fake = name: "/nix/store/00000000000000000000000000000000-" + name;
  pkgs = {
    # A real derivation, built with this machine's tools (no sandbox in these tests).
    runCommand = name: env: script: derivation { inherit name; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" script ]; PATH = "/usr/bin:/bin"; };
    bash = fake "bash"; coreutils = fake "coreutils"; gnugrep = fake "gnugrep"; yq = fake "yq";
  };
  cfg = { enable = true; serverName = "cache.example.org"; root = "/var/lib/fleet-cache"; inventory = null; reportHosts = [ ];
    reportSecretFile = "${SECRET}"; writersFile = "${WRITERS}"; } // ${settings};
  m = import ${module} { inherit lib pkgs; config = { services.fleet-cache-server = cfg; services.nginx = { user = "nginx"; group = "nginx"; }; systemd.package = fake "systemd"; }; };
  credentials = m.config.systemd.services.fleet-cache-server-credentials;
in {
  assertions = map (a: { inherit (a) assertion message; }) m.config.assertions;
  tmpfiles = m.config.systemd.tmpfiles.rules;
  credentials = { inherit (credentials) before requiredBy serviceConfig; };
  nginx = { inherit (m.config.services.nginx) enable mapHashBucketSize appendHttpConfig; vhosts = m.config.services.nginx.virtualHosts; };
  nginxService = m.config.systemd.services.nginx.serviceConfig;
}`;

interface Evaluated {
  assertions: { assertion: boolean; message: string }[];
  tmpfiles: string[];
  credentials: { before: string[]; requiredBy: string[]; serviceConfig: Record<string, unknown> & { ExecStart: string[] } };
  nginx: { enable: boolean; mapHashBucketSize: number; appendHttpConfig: string; vhosts: Record<string, { root: string; extraConfig: string }> };
  nginxService: { ReadWritePaths: string[] };
}

describe('host/nixos/fleet-cache-server.nix', () => {
  let dir: string;
  let counter = 0;
  const evaluate = async (settings: string): Promise<Evaluated> => {
    const file = join(dir, `eval-${counter++}.nix`);
    await writeFile(file, HARNESS(MODULE, settings));
    const out = await exec('nix-instantiate', ['--eval', '--read-write-mode', '--strict', '--json', file]);
    return JSON.parse(out.stdout) as Evaluated;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-cache-server-module-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the credentials service before nginx, serves the root with the shipped config, and keeps the secrets out of the store', async () => {
    const config = await evaluate('{ reportHosts = [ "clinic-kin" "clinic-bamako" ]; }');
    expect(config.assertions.every((a) => a.assertion)).toBe(true);
    expect(config.credentials.before).toEqual(['nginx.service']);
    expect(config.credentials.requiredBy).toEqual(['nginx.service']);
    expect(config.credentials.serviceConfig).toMatchObject({ Type: 'oneshot', RemainAfterExit: true, User: 'root', Group: 'nginx', UMask: '0027', RuntimeDirectory: 'fleet-cache-server', RuntimeDirectoryMode: '0750' });

    const [map, writers] = config.credentials.serviceConfig.ExecStart;
    const script = /^\/nix\/store\/0{32}-bash\/bin\/sh (\/nix\/store\/[a-z0-9]{32}-fleet-cache-server)\/fleet-cache-credentials\.sh /;
    expect(map).toMatch(script);
    // The secret and the writers' file are named by path, read at service start.
    expect(map?.split(' ').slice(2)).toEqual(['report-map', SECRET, expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-fleet-report-hosts$/), '/run/fleet-cache-server/report-tokens.map']);
    expect(writers?.split(' ').slice(2)).toEqual(['writers', WRITERS, '/run/fleet-cache-server/writers.htpasswd']);
    const shippedDir = script.exec(map ?? '')?.[1] as string;
    const shipped = (await exec('find', [shippedDir, '-type', 'f', '-printf', '%P\\n'])).stdout.split('\n').filter(Boolean).sort();
    expect(shipped).toEqual(['fleet-cache-credentials.sh', 'nginx-http.conf', 'nginx-server.conf', 'report-hosts.jq']);
    expect(config.credentials.serviceConfig.ExecStartPost).toBe('/nix/store/00000000000000000000000000000000-systemd/bin/systemctl --no-block try-reload-or-restart nginx.service');

    // nginx gets the files of host/cache-server as they are, with the runtime directory filled in.
    const fill = async (file: string) => (await readFile(join(SERVER_DIR, file), 'utf8')).replaceAll('@runtimeDir@', '/run/fleet-cache-server');
    expect(config.nginx.enable).toBe(true);
    expect(config.nginx.mapHashBucketSize).toBe(128);
    expect(config.nginx.appendHttpConfig).toBe(await fill('nginx-http.conf'));
    expect(config.nginx.appendHttpConfig).toContain('include /run/fleet-cache-server/report-tokens.map;');
    expect(Object.keys(config.nginx.vhosts)).toEqual(['cache.example.org']);
    expect(config.nginx.vhosts['cache.example.org']).toEqual({ root: '/var/lib/fleet-cache', extraConfig: await fill('nginx-server.conf') });
    expect(config.nginxService.ReadWritePaths).toEqual(['/var/lib/fleet-cache']);
    expect(config.tmpfiles).toEqual(['d /var/lib/fleet-cache 0755 nginx nginx -']);
  });

  it('takes the report hosts from the inventory at build time, plus reportHosts, sorted and unique', async () => {
    const inventory = join(dir, 'fleet.yaml');
    await writeFile(inventory, 'environments: { production: {} }\nhosts:\n  clinic-kin: { deploy: { method: pull } }\n  web1: {}\n  clinic-bamako: { deploy: { method: pull } }\n');
    const config = await evaluate(`{ inventory = ${inventory}; reportHosts = [ "clinic-kin" "extra-host" ]; }`);
    const hostsFile = config.credentials.serviceConfig.ExecStart[0]?.split(' ')[4] as string;
    expect(hostsFile).toMatch(/^\/nix\/store\/[a-z0-9]{32}-fleet-report-hosts$/);
    // Builds the host-list derivations for real (this machine's yq stands in for nixpkgs').
    const file = join(dir, 'build.nix');
    await writeFile(file, HARNESS(MODULE, `{ inventory = ${inventory}; reportHosts = [ "clinic-kin" "extra-host" ]; }`).replace(/in \{\n {2}assertions[\s\S]*\}$/, 'in builtins.head credentials.serviceConfig.ExecStart'));
    const drv = `derivation { name = "fleet-report-hosts-user"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; uses = import ${file}; }`;
    await exec('nix-build', ['--no-out-link', '--expr', drv], { env: offlineNixEnv(), timeoutMs: 120_000 });
    expect(await readFile(hostsFile, 'utf8')).toBe('clinic-bamako\nclinic-kin\nextra-host\n');
  });

  it('refuses a secret or writers file in the Nix store, and a server without report hosts', async () => {
    const inStore = await evaluate('{ reportHosts = [ "a" ]; reportSecretFile = "/nix/store/00000000000000000000000000000000-secret"; }');
    expect(inStore.assertions.filter((a) => !a.assertion).map((a) => a.message)).toEqual(['services.fleet-cache-server: reportSecretFile and writersFile must not be in the Nix store']);
    const none = await evaluate('{ }');
    expect(none.assertions.filter((a) => !a.assertion).map((a) => a.message)).toEqual(['services.fleet-cache-server: set inventory or reportHosts (the hosts that report)']);
  });
});
