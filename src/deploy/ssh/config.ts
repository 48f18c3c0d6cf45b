import type { SshTarget } from '../../fleet/types.js';

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

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]*$|^[0-9a-fA-F:]+$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const JUMP = /^(?:[A-Za-z_][A-Za-z0-9_.-]*@)?[A-Za-z0-9][A-Za-z0-9._-]*(?::\d{1,5})?$/;

/** Refuses targets ssh could read as options or that need quoting: inventory values reach argv. */
export function checkSshTarget(target: SshTarget, host: string): void {
  const problem = (what: string, value: unknown, example: string) =>
    new Error(`host "${host}": deploy ${what} "${String(value)}" is not valid (example: ${example})`);
  if (!HOST.test(target.host)) throw problem('host', target.host, 'web1.example.org');
  if (!USER.test(target.user)) throw problem('user', target.user, 'root');
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw problem('port', target.port, '22');
  if (target.jump !== undefined && !target.jump.split(',').every((hop) => JUMP.test(hop))) {
    throw problem('jump', target.jump, 'relay@relay.example.org:22');
  }
}

/** Arguments that pick the host's port and relay; with `-F config` they make a full connection spec. */
export function targetOptions(target: SshTarget): string[] {
  return ['-p', String(target.port), ...(target.jump ? ['-J', target.jump] : [])];
}
