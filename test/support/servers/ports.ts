import { createServer, connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { sleep } from '../../../src/util/async.js';

/** A port that was free a moment ago on 127.0.0.1 (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port; `gaveUp` stops the wait early. */
export async function waitForPort(port: number, options: { timeoutMs?: number; gaveUp?: () => string | undefined } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const stop = options.gaveUp?.();
    if (stop) throw new Error(stop);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${options.timeoutMs ?? 10_000} ms`);
    await sleep(25);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * An IPv4 address of this machine that is not loopback: fleet's clients (as @actions/http-client)
 * never send loopback through a proxy, so a server behind one is reached at this address.
 */
export function nonLoopbackAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new Error('this machine has no IPv4 address besides loopback; the proxy tests need one (a network interface that is up)');
}
