/**
 * Starting and measuring the processes under test. Every server runs as its own process so its
 * CPU and RSS are its own, read from /proc: the same numbers for our server and the baselines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LIFELINE = fileURLToPath(new URL('./lifeline.ts', import.meta.url));
/** Kernel clock ticks per second for /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS = 100;

/** Node flags for every child: TypeScript through tsx, plus the lifeline that bounds its life. */
export const childExecArgv = ['--import', 'tsx', '--import', LIFELINE];

export interface Service {
  name: string;
  pid: number;
  port: number;
  baseUrl: string;
  /** Output the process wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  name: string;
  /** Script path relative to `cwd`. */
  script: string;
  /** The checkout to run it in: this repository (ROOT) unless another commit is measured. */
  cwd?: string;
  env: Record<string, string | undefined>;
  /** Path answered once the process is ready. */
  readyPath: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  lifetimeMs: number;
}

/** Starts `node --import tsx <script>` on a fresh port and waits until `readyPath` answers. */
export async function startService(options: StartOptions): Promise<Service> {
  const port = await freePort();
  const child = spawn(process.execPath, [...childExecArgv, ...(options.nodeFlags ?? []), options.script], {
    cwd: options.cwd ?? ROOT,
    env: {
      ...process.env,
      ...options.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BENCH_LIFETIME_MS: String(options.lifetimeMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const service: Service = {
    name: options.name,
    pid: child.pid ?? 0,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () => stopChild(child),
  };
  try {
    await waitUntilReady(child, `${service.baseUrl}${options.readyPath}`, 60_000, () => output);
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

async function waitUntilReady(child: ChildProcess, url: string, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ready:\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`not ready within ${timeoutMs} ms (${url}):\n${output()}`);
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
export interface ProcSample {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { at: performance.now(), cpuSeconds: (utime + stime) / TICKS, rssBytes: rssKb * 1024 };
}

/** Average CPU between two samples, as a percentage of one core. */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const wall = (to.at - from.at) / 1000;
  return wall > 0 ? ((to.cpuSeconds - from.cpuSeconds) / wall) * 100 : 0;
}

/** CPU% of this process itself (the orchestrator posts the comments, so it is load generator too). */
export function selfCpu(): { at: number; usage: NodeJS.CpuUsage } {
  return { at: performance.now(), usage: process.cpuUsage() };
}

export function selfCpuPercent(from: { at: number; usage: NodeJS.CpuUsage }): number {
  const used = process.cpuUsage(from.usage);
  const wall = performance.now() - from.at;
  return wall > 0 ? ((used.user + used.system) / 1000 / wall) * 100 : 0;
}

/** The 1-minute load average, to say how busy the shared machine was. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
