import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/cache/open-store.js';
import { parseSigningKey, type SigningKey } from '../../src/cache/signing.js';
import { prepareManifestStore, publishManifest, type ManifestRequest, type PublishedManifest } from '../../src/deploy/pull/index.js';
import { buildExampleFleet, cleanupExampleFleets } from '../support/example-fleet.js';
import { startHosts, type SimulatedFleet, type SimulatedHost } from '../support/hosts/index.js';
import { startFaultProxy, startNginxCache, startS3rver, type FaultProxy, type NginxCacheHandle, type S3rverHandle } from '../support/servers/index.js';
import { exec, type ExecResult } from '../../src/util/exec.js';
import { offlineNixEnv } from '../support/nix.js';

/** Shared by the pull-agent integration tests: keys, closures in a cache, running the agent on a host. */


export interface KeyPair {
  secret: string;
  public: string;
}

/** A Nix signing key pair, as `nix key generate-secret` makes it. */
export async function generateKeyPair(name: string): Promise<KeyPair> {
  const secret = (await exec('nix', ['key', 'generate-secret', '--key-name', name], { env: offlineNixEnv() })).stdout.trim();
  const pub = (await exec('nix', ['key', 'convert-secret-to-public'], { env: offlineNixEnv(), input: secret })).stdout.trim();
  return { secret, public: pub };
}

/** Pushes closures to an HTTP cache with real Nix, signed with `key` (a test key in a temp file). */
export async function pushClosures(cacheUrl: string, key: KeyPair, paths: readonly string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-pull-key-'));
  try {
    const file = join(dir, 'secret');
    await writeFile(file, key.secret, { mode: 0o600 });
    await exec('nix', ['copy', '--to', `${cacheUrl}?secret-key=${file}&compression=zstd`, ...paths], { env: offlineNixEnv(), timeoutMs: 120_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface AgentConfig {
  host: string;
  environment: string;
  storeUrl: string;
  manifestKeys: string;
  substituters: string;
  trustedPublicKeys: string;
  reportUrl?: string;
  reportTokenFile?: string;
  rebootWindow?: string;
  /** Stores asked for the manifest before storeUrl (FLEET_AGENT_MIRRORS). */
  mirrors?: string;
  /** HH:MM-HH:MM (FLEET_AGENT_ACTIVATION_WINDOW). */
  activationWindow?: string;
  allowReboot?: boolean;
  /** node_exporter textfile directory (FLEET_AGENT_METRICS_PROMETHEUS_DIR); unset: no textfile. */
  prometheusDir?: string;
  /** Zabbix JSON file (FLEET_AGENT_METRICS_ZABBIX_FILE); unset: none. */
  zabbixFile?: string;
}

/**
 * The agent's state and health checks live in the host's directory (the simulated hosts share
 * the machine's /var/lib and /etc), so each host keeps its own.
 */
export function agentPaths(host: SimulatedHost): { state: string; checks: string } {
  return { state: join(host.root, 'agent-state'), checks: join(host.root, 'agent-checks') };
}

/** Installs an executable health check on the host. */
export async function addHealthCheck(host: SimulatedHost, name: string, script: string): Promise<void> {
  const { checks } = agentPaths(host);
  await mkdir(checks, { recursive: true });
  await writeFile(join(checks, name), `#!/bin/sh\n${script}\n`);
  await chmod(join(checks, name), 0o755);
}

/** The agent's environment for `config`, as the NixOS module sets it (KEY=VALUE). */
function agentEnvironment(host: SimulatedHost, config: AgentConfig, extraEnv: Record<string, string>): string[] {
  const { state, checks } = agentPaths(host);
  const vars: Record<string, string> = {
    FLEET_AGENT_HOST: config.host,
    FLEET_AGENT_ENVIRONMENT: config.environment,
    FLEET_AGENT_STORE_URL: config.storeUrl,
    FLEET_AGENT_MANIFEST_KEYS: config.manifestKeys,
    FLEET_AGENT_SUBSTITUTERS: config.substituters,
    FLEET_AGENT_TRUSTED_PUBLIC_KEYS: config.trustedPublicKeys,
    FLEET_AGENT_STATE_DIR: state,
    FLEET_AGENT_HEALTH_CHECKS_DIR: checks,
    FLEET_AGENT_HEALTH_CHECK_TIMEOUT: '10',
    FLEET_AGENT_SWITCH_TIMEOUT: '30',
    FLEET_AGENT_CONNECT_TIMEOUT: '3',
    ...(config.reportUrl ? { FLEET_AGENT_REPORT_URL: config.reportUrl } : {}),
    ...(config.reportTokenFile ? { FLEET_AGENT_REPORT_TOKEN_FILE: config.reportTokenFile } : {}),
    ...(config.rebootWindow ? { FLEET_AGENT_REBOOT_WINDOW: config.rebootWindow } : {}),
    ...(config.activationWindow ? { FLEET_AGENT_ACTIVATION_WINDOW: config.activationWindow } : {}),
    ...(config.mirrors ? { FLEET_AGENT_MIRRORS: config.mirrors } : {}),
    ...(config.allowReboot ? { FLEET_AGENT_ALLOW_REBOOT: 'true' } : {}),
    ...(config.prometheusDir ? { FLEET_AGENT_METRICS_PROMETHEUS_DIR: config.prometheusDir } : {}),
    ...(config.zabbixFile ? { FLEET_AGENT_METRICS_ZABBIX_FILE: config.zabbixFile } : {}),
    ...extraEnv,
  };
  return Object.entries(vars).map(([k, v]) => `${k}=${v}`);
}

/** Runs the agent inside the host (over the harness's ssh, so in its namespaces). */
export async function runAgent(
  host: SimulatedHost,
  config: AgentConfig,
  command: 'run' | 'report' = 'run',
  extraEnv: Record<string, string> = {},
  { timeoutMs = 120_000 }: { timeoutMs?: number } = {},
): Promise<ExecResult> {
  const installed = await host.installHostFiles();
  return host.ssh(['env', ...agentEnvironment(host, config, extraEnv), '/bin/sh', `${installed}/agent/fleet-agent.sh`, command], { timeoutMs });
}

/**
 * Installs the agent as the host's fleet-agent.service, which the simulated systemctl starts
 * (`systemctl start fleet-agent.service`): what action-deploy's nudge asks for.
 */
export async function installAgentUnit(host: SimulatedHost, config: AgentConfig): Promise<void> {
  const installed = await host.installHostFiles();
  const quoted = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
  const script = `#!/bin/sh\nexec env ${agentEnvironment(host, config, {}).map(quoted).join(' ')} /bin/sh ${quoted(`${installed}/agent/fleet-agent.sh`)} run\n`;
  await mkdir(join(host.root, 'run', 'fleet-sim', 'units'), { recursive: true });
  await writeFile(join(host.root, 'run', 'fleet-sim', 'units', 'fleet-agent.service'), script, { mode: 0o755 });
}

/**
 * A window around (`open`) or away from (closed: two to three hours ahead) the host's local time
 * now, as FLEET_AGENT_ACTIVATION_WINDOW and FLEET_AGENT_REBOOT_WINDOW take it (HH:MM-HH:MM).
 */
export async function windowAround(host: SimulatedHost, open: boolean): Promise<string> {
  const [hours, minutes] = (await host.ssh(['date', '+%H %M'])).stdout.trim().split(' ').map(Number) as [number, number];
  const at = (offset: number) => {
    const m = (((hours * 60 + minutes + offset) % 1440) + 1440) % 1440;
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };
  return open ? `${at(-60)}-${at(60)}` : `${at(120)}-${at(180)}`;
}

/** A NAR in the bed's cache, by its narinfo. */
export interface CachedNar {
  path: string;
  url: string;
  fileSize: number;
}

/** The NARs a host running v1 fetches for v2, by the cache's narinfos, largest first. */
export async function narsToFetch(bed: AgentBed): Promise<CachedNar[]> {
  const requisites = async (path: string) => (await exec('nix-store', ['--query', '--requisites', path])).stdout.trim().split('\n');
  const have = new Set(await requisites(bed.v1));
  const nars: CachedNar[] = [];
  for (const path of (await requisites(bed.v2)).filter((p) => !have.has(p))) {
    const hash = path.slice('/nix/store/'.length, '/nix/store/'.length + 32);
    const narinfo = await (await fetch(`${bed.cache.url}/${hash}.narinfo`)).text();
    nars.push({ path, url: /^URL: (.+)$/m.exec(narinfo)?.[1] as string, fileSize: Number(/^FileSize: (\d+)$/m.exec(narinfo)?.[1]) });
  }
  return nars.sort((a, b) => b.fileSize - a.fileSize);
}

/** What the agent tests share: hosts seeded with the example fleet's v1, v2 in a cache, a manifest store. */
export interface AgentBed {
  fleet: SimulatedFleet;
  s3: S3rverHandle;
  cache: NginxCacheHandle;
  /** In front of the cache: where the hosts substitute from (faults, throttling, the request log). */
  proxy: FaultProxy;
  /** The manifest and report store. */
  store: OpenedStore;
  manifestKey: SigningKey;
  cacheKey: KeyPair;
  v1: string;
  v2: string;
  host(index: number): SimulatedHost;
  /** The agent's settings for `host`: the store, the keys, the proxy as its substituter. */
  config(host: SimulatedHost, overrides?: Partial<AgentConfig>): AgentConfig;
  /** Publishes a manifest for v2 (switch). */
  publish(host: string, request?: Partial<ManifestRequest>): Promise<PublishedManifest>;
  stop(): Promise<void>;
}

/** `v2`: the new system (default: the example fleet's clinic-kin at variant pull-2). */
export async function startAgentBed(options: { hosts: number; prefix: string; v2?: string }): Promise<AgentBed> {
  const [first, second] = await Promise.all([
    buildExampleFleet({ variant: '1', hosts: ['clinic-kin'] }),
    options.v2 ? undefined : buildExampleFleet({ variant: 'pull-2', hosts: ['clinic-kin'] }),
  ]);
  const v1 = first.toplevels['clinic-kin'] as string;
  const v2 = options.v2 ?? (second?.toplevels['clinic-kin'] as string);
  const manifestKey = parseSigningKey((await generateKeyPair(`fleet-manifest-${options.prefix}-1`)).secret);
  const cacheKey = await generateKeyPair(`cache-${options.prefix}-1`);
  const [s3, cache, fleet] = await Promise.all([startS3rver(), startNginxCache(), startHosts(options.hosts, { system: v1, names: (i) => `${options.prefix}-${i}` })]);
  await pushClosures(cache.url, cacheKey, [v2]);
  const proxy = await startFaultProxy(cache.url);
  const store = openStore(s3.cacheUrl, { credentials: s3.credentials });
  await prepareManifestStore(store);
  return {
    fleet,
    s3,
    cache,
    proxy,
    store,
    manifestKey,
    cacheKey,
    v1,
    v2,
    host: (index) => fleet.hosts[index] as SimulatedHost,
    config: (host, overrides = {}) => ({
      host: host.name,
      environment: 'production',
      storeUrl: s3.url,
      manifestKeys: manifestKey.publicKey.text,
      substituters: proxy.url,
      trustedPublicKeys: cacheKey.public,
      ...overrides,
    }),
    publish: (host, request = {}) =>
      publishManifest({ host, environment: 'production', system: v2, wave: 'final', commit: 'c'.repeat(40), action: 'switch', ...request }, { store, signingKey: manifestKey }),
    async stop() {
      await store.close();
      await Promise.all([fleet.stop(), s3.stop(), cache.stop(), proxy.stop()]);
      await cleanupExampleFleets();
    },
  };
}
