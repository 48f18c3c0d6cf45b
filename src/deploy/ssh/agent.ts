import { once } from 'node:events';
import { join } from 'node:path';
import { CommandError, exec, spawnProcess } from '../../util/exec.js';

/** An ssh-agent of our own holding the deploy key, which never touches the disk or an argv. */
export interface SshAgent {
  socket: string;
  stop(): Promise<void>;
}

/** GitHub secrets often lose the final newline or gain CRLFs; ssh-add rejects both. */
export function normalizePrivateKey(key: string): string {
  return `${key.replace(/\r\n?/g, '\n').trim()}\n`;
}

/** Starts `ssh-agent -D` with its socket in `dir` (a private directory) and adds the key from stdin. */
export async function startAgent(dir: string, privateKey: string, signal?: AbortSignal): Promise<SshAgent> {
  const socket = join(dir, 'agent.sock');
  const child = spawnProcess('ssh-agent', ['-D', '-a', socket], { signal });
  child.stdin.end();
  const exited = once(child, 'close');
  const stderr: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
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
    await exec('ssh-add', ['-q', '-'], {
      input: normalizePrivateKey(privateKey),
      env: { ...process.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never', DISPLAY: '' },
      timeoutMs: 15_000,
    }).catch((error: unknown) => {
      const detail = error instanceof CommandError ? error.stderr.trim() : '';
      throw new Error(`ssh-private-key: ssh-add refused the key (${detail || 'unknown error'}); give an unencrypted OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----" …)`);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { socket, stop };
}
