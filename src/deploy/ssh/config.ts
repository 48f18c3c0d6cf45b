import type { SshTarget } from '../../fleet/types.js';
import { SSH_HOST, SSH_USER } from '../../util/ssh-names.js';

export interface SshConfigOptions {
  /** known_hosts written from the `ssh-known-hosts` input; ssh's defaults when absent. */
  knownHostsFile?: string;
  /** Our own agent's socket; the caller's agent and default keys when absent. */
  agentSocket?: string;
  connectTimeoutSeconds: number;
}

/**
 * The ssh_config every connection (and `nix copy`, and ProxyJump's inner ssh, which gets `-F`
 * but no `-o`) uses: batch mode, strict host keys, no multiplexing — each call is a new
 * connection, which is what proves that a freshly activated host still lets us in.
 */
export function sshConfigText(options: SshConfigOptions): string {
  const lines = [
    'Host *',
    '  BatchMode yes',
    '  StrictHostKeyChecking yes',
    '  UpdateHostKeys no',
    '  ControlMaster no',
    '  ControlPath none',
    '  ForwardAgent no',
    '  ForwardX11 no',
    '  RequestTTY no',
    '  LogLevel ERROR',
    `  ConnectTimeout ${options.connectTimeoutSeconds}`,
    '  ServerAliveInterval 5',
    '  ServerAliveCountMax 3',
  ];
  if (options.knownHostsFile) lines.push(`  UserKnownHostsFile "${options.knownHostsFile}"`, '  GlobalKnownHostsFile /dev/null');
  if (options.agentSocket) lines.push(`  IdentityAgent "${options.agentSocket}"`, '  IdentitiesOnly no', '  IdentityFile none');
  return `${lines.join('\n')}\n`;
}

const JUMP = /^(?:[A-Za-z_][A-Za-z0-9_.-]*@)?[A-Za-z0-9][A-Za-z0-9._-]*(?::\d{1,5})?$/;

/** Refuses targets ssh could read as options or that need quoting: inventory values reach argv. */
export function checkSshTarget(target: SshTarget, host: string): void {
  const problem = (what: string, value: unknown, example: string) =>
    new Error(`host "${host}": deploy ${what} "${String(value)}" is not valid (example: ${example})`);
  if (!SSH_HOST.test(target.host)) throw problem('host', target.host, 'web1.example.org');
  if (!SSH_USER.test(target.user)) throw problem('user', target.user, 'root');
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw problem('port', target.port, '22');
  if (target.jump !== undefined && !target.jump.split(',').every((hop) => JUMP.test(hop))) {
    throw problem('jump', target.jump, 'relay@relay.example.org:22');
  }
}

/** Arguments that pick the host's port and relay; with `-F config` they make a full connection spec. */
export function targetOptions(target: SshTarget): string[] {
  return ['-p', String(target.port), ...(target.jump ? ['-J', target.jump] : [])];
}

const KEY_TYPE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com)$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{16,}={0,2}$/;

/**
 * Checks known_hosts text (`[@marker] hosts key-type base64-key [comment]` per line) before any
 * connection, so a pasted fingerprint or a truncated key fails up front, not as "host key
 * verification failed" on every host. Returns the text; throws naming the line.
 */
export function parseKnownHosts(text: string): string {
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    if (fields[0]?.startsWith('@')) {
      if (fields[0] !== '@cert-authority' && fields[0] !== '@revoked') throw new Error(`line ${index + 1}: unknown marker ${JSON.stringify(fields[0])} (only @cert-authority and @revoked)`);
      fields.shift();
    }
    const [hosts, type, key] = fields;
    const shownLine = JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}…` : line);
    if (!hosts || !type || !key) throw new Error(`line ${index + 1} ${shownLine} needs a host, a key type and a key (as ssh-keyscan prints them)`);
    if (!KEY_TYPE.test(type)) throw new Error(`line ${index + 1} ${shownLine}: "${type}" is not a key type such as ssh-ed25519`);
    if (!BASE64_KEY.test(key)) throw new Error(`line ${index + 1} ${shownLine}: the key is not base64 (a fingerprint such as SHA256:… is not a key; use ssh-keyscan)`);
  });
  return text;
}
