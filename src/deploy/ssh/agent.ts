import { once } from 'node:events';
import { join } from 'node:path';
import { CommandError, exec, spawnProcess } from '../../util/exec.js';
import type { DeploySettings } from '../types.js';

/** An ssh-agent of our own holding the deploy key, which never touches the disk or an argv. */
export interface SshAgent {
  socket: string;
  pid: number;
  stop(): Promise<void>;
}

export interface AgentOptions {
  /** `ssh-agent -t`: how long the key stays loaded unless refreshed (see agentKeyLifetimeSeconds). */
  keyLifetimeSeconds: number;
  signal?: AbortSignal;
}

/** The agent's socket in a session's private directory (what the post step looks for, too). */
export const agentSocketIn = (dir: string): string => join(dir, 'agent.sock');

const MARGIN_MS = 5 * 60_000;
const MIN_LIFETIME_MS = 10 * 60_000;
/** GitHub-hosted jobs end after 6 hours: no deploy key needs to outlive that unrefreshed. */
const MAX_LIFETIME_MS = 6 * 3600_000;

/**
 * The key's lifetime in the agent: the longest single ssh command a deploy waits on (activation,
 * a reboot, a health check), plus a margin. A live deploy re-adds the key twice per lifetime,
 * so a long rollout keeps it; a key left by a killed run expires on its own even without the
 * post step.
 */
export function agentKeyLifetimeSeconds(settings: Pick<DeploySettings, 'activationTimeoutMs' | 'confirmTimeoutMs' | 'rebootTimeoutMs' | 'healthChecks'>): number {
  const longestWait = Math.max(
    2 * settings.activationTimeoutMs + settings.confirmTimeoutMs + 60_000,
    settings.rebootTimeoutMs,
    ...settings.healthChecks.map((check) => check.timeoutMs + 30_000),
  );
  const lifetime = Math.min(MAX_LIFETIME_MS, Math.max(MIN_LIFETIME_MS, longestWait + MARGIN_MS));
  return Math.ceil(lifetime / 1000);
}

/** GitHub secrets often lose the final newline or gain CRLFs; ssh-add rejects both. */
export function normalizePrivateKey(key: string): string {
  return `${key.replace(/\r\n?/g, '\n').trim()}\n`;
}

/**
 * Starts `ssh-agent -D -t` with its socket in `dir` (a private directory) and adds the key from
 * stdin, then re-adds it every half lifetime (which restarts the key's lifetime) until stopped.
 */
export async function startAgent(dir: string, privateKey: string, options: AgentOptions): Promise<SshAgent> {
  const socket = agentSocketIn(dir);
  const child = spawnProcess('ssh-agent', ['-D', '-a', socket, '-t', String(options.keyLifetimeSeconds)], { signal: options.signal });
  child.stdin.end();
  const exited = once(child, 'close');
  const stderr: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  const stopAgent = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const addKey = () =>
    exec('ssh-add', ['-q', '-'], {
      input: normalizePrivateKey(privateKey),
      env: { ...process.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never', DISPLAY: '' },
      timeoutMs: 15_000,
    });
  try {
    // In -D mode the agent prints its environment once the socket listens.
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        if (out.includes('SSH_AUTH_SOCK')) resolve();
      });
      child.once('error', reject);
      child.once('close', (code) => reject(new CommandError('ssh-agent', code, Buffer.concat(stderr).toString('utf8'), 'exited before it listened')));
    });
    await addKey().catch((error: unknown) => {
      const detail = error instanceof CommandError ? error.stderr.trim() : '';
      throw new Error(`ssh-private-key: ssh-add refused the key (${detail || 'unknown error'}); give an unencrypted OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----" …)`);
    });
  } catch (error) {
    await stopAgent();
    throw error;
  }
  // A refresh that fails once is retried at the next; the key lasts a whole lifetime meanwhile.
  const refresh = setInterval(() => void addKey().catch(() => {}), (options.keyLifetimeSeconds * 1000) / 2);
  refresh.unref();
  const stop = async () => {
    clearInterval(refresh);
    await stopAgent();
  };
  return { socket, pid: child.pid as number, stop };
}
