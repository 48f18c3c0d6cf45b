import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulatedHost } from '../support/hosts/index.js';
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

/** Runs the agent inside the host (over the harness's ssh, so in its namespaces). */
export async function runAgent(host: SimulatedHost, config: AgentConfig, command: 'run' | 'report' = 'run'): Promise<ExecResult> {
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
    ...(config.allowReboot ? { FLEET_AGENT_ALLOW_REBOOT: 'true' } : {}),
    ...(config.prometheusDir ? { FLEET_AGENT_METRICS_PROMETHEUS_DIR: config.prometheusDir } : {}),
    ...(config.zabbixFile ? { FLEET_AGENT_METRICS_ZABBIX_FILE: config.zabbixFile } : {}),
  };
  const env = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const installed = await host.installHostFiles();
  return host.ssh(['env', ...env, '/bin/sh', `${installed}/agent/fleet-agent.sh`, command], { timeoutMs: 120_000 });
}
