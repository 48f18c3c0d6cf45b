import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { freePort, waitForPort } from './ports.js';

/** A server program running in the foreground on a port of its own. */
export interface PortDaemon {
  port: number;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; then removes its directory. */
  stop(): Promise<void>;
}

export interface PortDaemonOptions {
  /** Names it in errors. */
  name: string;
  /** Its own directory (configuration, logs), removed when it stops or fails to start. */
  dir: string;
  /** Writes its configuration for `port` and starts it. */
  spawn: (port: number) => Promise<ChildProcessWithoutNullStreams>;
  /** Its complaint when another process took the port first: then it is started on another one. */
  portTaken: RegExp;
  /** More about a failed start than its output (a log file it writes). */
  startupLog?: () => Promise<string>;
}

/**
 * Starts a server on a port that was free a moment ago. The port is chosen before the server binds
 * it, so another process may take it first: then it tries another, five times in all.
 */
export async function startOnFreePort(options: PortDaemonOptions): Promise<PortDaemon> {
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = await options.spawn(port);
    let output = '';
    let exited: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exit = new Promise<void>((resolve) =>
      child.once('close', (code, signal) => {
        exited = `${options.name} exited (${signal ?? code}) before listening: ${output.trim()}`;
        resolve();
      }),
    );
    try {
      await waitForPort(port, { gaveUp: () => exited });
    } catch (error) {
      child.kill('SIGKILL');
      await exit;
      const startup = (await options.startupLog?.().catch(() => '')) ?? '';
      lastError = `${error instanceof Error ? error.message : String(error)} ${startup}`.trim();
      if (options.portTaken.test(lastError)) continue;
      break;
    }
    return {
      port,
      output: () => output,
      stop: async () => {
        if (exited === undefined) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exit;
          clearTimeout(timer);
        }
        await rm(options.dir, { recursive: true, force: true });
      },
    };
  }
  await rm(options.dir, { recursive: true, force: true });
  throw new Error(`could not start ${options.name}: ${lastError}`);
}
