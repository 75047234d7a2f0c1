/**
 * Real server processes for end-to-end tests: `node --import tsx src/main.ts`, exactly as an
 * operator would start it, on a free port, with only the environment the test gives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A server started as its own process. */
export interface ServerProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  /** Everything the process wrote to stdout and stderr so far (start-up failures land here). */
  output(): string;
  /** SIGTERM, then SIGKILL after `ms`; resolves with the exit code. */
  stop(ms?: number): Promise<number | null>;
}

/** A port nobody listens on right now (the kernel picks it; we let go of it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Spawns src/main.ts (or `options.command`, e.g. `npm start`) with `env` (plus PATH and HOME:
 * nothing else leaks in from the test's own environment, so a CI-wide DATABASE_URL cannot change
 * which store a test server uses) on a free port, and resolves once /health answers 200. Rejects
 * with the process's output if it exits or is not healthy in time.
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { timeoutMs?: number; command?: string[] } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const [file, ...args] = options.command ?? [process.execPath, '--import', 'tsx', 'src/main.ts'];
  // A command such as `npm start` runs node behind npm and sh: in a process group of its own,
  // a signal to the group reaches the server too.
  const group = options.command !== undefined;
  const child = spawn(file!, args, {
    cwd: REPO_ROOT,
    detached: group,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      JWT_SECRET: 'server-process-test-secret',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const server: ServerProcess = {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    output: () => output,
    async stop(ms = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const kill = (signal: NodeJS.Signals) =>
        group ? process.kill(-child.pid!, signal) : child.kill(signal);
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), ms);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(`${server.baseUrl}/health`);
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error(
    `server on port ${port} ${gone ? `exited with ${child.exitCode}` : 'was not healthy in time'}:\n${output}`,
  );
}
