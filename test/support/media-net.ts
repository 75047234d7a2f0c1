/**
 * Real Janus (VideoRoom SFU) and coturn, from Debian's packages, for media tests, inside a network
 * namespace of their own.
 *
 * Why a namespace: Janus never offers loopback candidates, so WebRTC needs a non-loopback
 * interface, and tests must not send traffic to this machine's external address nor to any
 * address they did not create. So each MediaNet is a fresh namespace joined to the root namespace
 * by a veth pair with private addresses chosen here (10.77.N.1 on the root side, 10.77.N.2
 * inside). Janus, coturn and Chromium run inside; the test process (our server, a page server)
 * stays in the root namespace and listens on the root-side address.
 *
 * Everything started here is killed and awaited by close(), which also deletes the namespace (and
 * with it the veth pair). A test process that dies without close() leaves a namespace behind: the
 * next createMediaNet() deletes namespaces whose creating process is gone.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHROMIUM_ARGS } from './browser.js';
import { REPO_ROOT } from './server-process.js';
import { CHROMIUM } from './services.js';

export const JANUS = process.env.JANUS_PATH ?? '/usr/bin/janus';
export const TURNSERVER = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

/** Namespaces are named `${NS_PREFIX}<N>-<pid of the creating process>`. */
const NS_PREFIX = 'streammeon-media-';
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** The `ip` binary (iproute2), or undefined. */
function ipBinary(): string | undefined {
  return ['/usr/sbin/ip', '/usr/bin/ip', '/sbin/ip', '/bin/ip'].find((path) => existsSync(path));
}

/**
 * Skip reason for suites that need the media network, or undefined when they may run. As in
 * services.ts: locally a missing piece skips with how to get it; in CI (CI=true) it throws.
 */
export function needsMedia(): string | undefined {
  const missing = [
    [existsSync(JANUS), 'Janus', 'apt-get install janus coturn'],
    [existsSync(TURNSERVER), 'coturn', 'apt-get install janus coturn'],
    [existsSync(CHROMIUM), 'Chromium', 'apt-get install chromium, or set CHROMIUM_PATH'],
    [ipBinary() !== undefined, 'iproute2', 'apt-get install iproute2'],
    [process.getuid?.() === 0, 'root', 'network namespaces need root: run as root (as CI does)'],
  ].filter(([present]) => !present) as [boolean, string, string][];
  if (missing.length === 0) return undefined;
  const what = missing.map(([, name]) => name).join(', ');
  const how = [...new Set(missing.map(([, , hint]) => hint))].join('; ');
  if (inCi) throw new Error(`CI needs ${what}: ${how}`);
  return `${what} not available (${how})`;
}

/** A Janus started by MediaNet.startJanus. */
export interface JanusProcess {
  /** Janus API over WebSockets: ws://<namespace address>:<port>. */
  url: string;
  /** What every Janus API request must carry (janode: address.apisecret). */
  apiSecret: string;
  /** Admin API over WebSockets (janode: is_admin, address.apisecret = adminSecret). */
  adminUrl: string;
  adminSecret: string;
  /** [first, last] UDP port for ICE/RTP. */
  rtpPorts: [number, number];
  /** Janus's own log (-L). */
  logFile: string;
  pid: number;
  /** Stops it (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A coturn started by MediaNet.startCoturn. */
export interface CoturnProcess {
  /** For RTCConfiguration.iceServers, e.g. ['turn:10.77.5.2:3478?transport=udp']. */
  urls: string[];
  /** The static-auth-secret TURN REST credentials are signed with (see turnCredentials). */
  secret: string;
  logFile: string;
  pid: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface JanusOptions {
  /** Default: random. */
  apiSecret?: string;
  /** Default: 8188 for the first Janus, 8198 for the second, … */
  wsPort?: number;
  /** Default: 20000–20099 for the first Janus, 20100–20199 for the second, … */
  rtpPorts?: [number, number];
}

export interface CoturnOptions {
  secret: string;
  /** Default: 3478 for the first coturn, 3488 for the second, … */
  port?: number;
  /** Relay ports; default 49200–49299 for the first coturn, 49300–49399 for the second, … */
  relayPorts?: [number, number];
}

export interface MediaNet {
  /** The namespace's name (for `ip netns exec`). */
  name: string;
  /** Root-side veth address: where the test's own servers listen. */
  hostAddress: string;
  /** Namespace-side veth address: where Janus, coturn and Chromium are. */
  nsAddress: string;
  /** Interface names: root side, namespace side. */
  hostInterface: string;
  nsInterface: string;
  /** Temp dir with configs and logs (deleted by close() unless MEDIA_NET_KEEP=1). */
  dir: string;
  /**
   * Spawns `command args` inside the namespace with stdout and stderr appended to `logFile`
   * (default: <dir>/<command>-<n>.log). close() kills it.
   */
  exec(command: string, args: string[], logFile?: string): ChildProcess;
  startJanus(options?: JanusOptions): Promise<JanusProcess>;
  startCoturn(options: CoturnOptions): Promise<CoturnProcess>;
  /** A wrapper script that runs Chromium inside the namespace: Playwright's executablePath. */
  chromiumExecutable(): string;
  /** CHROMIUM_ARGS plus what a page at one of `pageOrigins` needs for WebRTC in the namespace. */
  chromiumArgs(pageOrigins: string[]): string[];
  /** Kills every process in the namespace and deletes it. Idempotent. */
  close(): Promise<void>;
}

/** TURN REST credentials (coturn's use-auth-secret): valid until `expiresAt` (unix seconds). */
export function turnCredentials(
  secret: string,
  user: string,
  expiresAt = Math.floor(Date.now() / 1000) + 3600,
): { username: string; credential: string } {
  const username = `${expiresAt}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

function ip(...args: string[]): string {
  return execFileSync(ipBinary() ?? 'ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Whether `pid` is a process that still runs (a zombie only waits to be reaped: it does not). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of every process inside namespace `name`. */
function pidsIn(name: string): number[] {
  try {
    return ip('netns', 'pids', name)
      .split('\n')
      .filter(Boolean)
      .map((pid) => Number(pid));
  } catch {
    return [];
  }
}

/** SIGKILLs everything in the namespace and deletes it (synchronous: also used on 'exit'). */
function destroyNamespace(name: string): void {
  for (const pid of pidsIn(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    ip('netns', 'del', name);
  } catch {
    // already deleted
  }
}

/** Namespaces left by test processes that died before close(). */
function deleteStaleNamespaces(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = new RegExp(`^${NS_PREFIX}\\d+-(\\d+)$`).exec(name);
    if (match && !alive(Number(match[1]))) destroyNamespace(name);
  }
}

/**
 * Fills the `${NAME}` placeholders of a template under deploy/, outside comment lines (which
 * document them); a placeholder without a value is an error.
 */
export function fillTemplate(path: string, values: Record<string, string | number>): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8')
    .split('\n')
    .map((line) =>
      line.trimStart().startsWith('#')
        ? line
        : line.replace(/\$\{([A-Z_]+)\}/g, (_, key: string) => {
            const value = values[key];
            if (value === undefined) throw new Error(`${path}: no value for \${${key}}`);
            return String(value);
          }),
    )
    .join('\n');
}

/** Resolves once host:port accepts a TCP connection; rejects when `exited()` or after 10 s. */
async function waitForTcp(host: string, port: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (exited()) throw new Error('the process exited before it listened');
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after 10 s`);
    await sleep(50);
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Sends `signal`, waits for exit, SIGKILLs after 3 s. */
async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Octets N in 10.77.N.0/24 that an address or route on this machine already uses. */
function usedSubnets(): Set<number> {
  const text = ip('-o', 'addr') + ip('-o', 'route');
  return new Set([...text.matchAll(/\b10\.77\.(\d+)\./g)].map((match) => Number(match[1])));
}

/**
 * Creates a namespace with `lo` up and a veth pair 10.77.N.1 (root) ↔ 10.77.N.2 (namespace), N
 * chosen so no address or route here uses 10.77.N.0/24. Concurrent runs race for N through the
 * veth name, which `ip link add` refuses twice.
 */
export async function createMediaNet(): Promise<MediaNet> {
  deleteStaleNamespaces();
  let n: number;
  let name: string;
  for (let attempt = 0; ; attempt++) {
    const used = usedSubnets();
    n = randomInt(1, 255);
    if (used.has(n)) continue;
    name = `${NS_PREFIX}${n}-${process.pid}`;
    ip('netns', 'add', name);
    try {
      // Created with its peer already inside: no moment when a half-made pair sits in root.
      ip('link', 'add', `smm-${n}-h`, 'type', 'veth', 'peer', 'name', `smm-${n}-n`, 'netns', name);
      break;
    } catch (error) {
      ip('netns', 'del', name);
      if (attempt > 20) throw error;
    }
  }
  const hostInterface = `smm-${n}-h`;
  const nsInterface = `smm-${n}-n`;
  const hostAddress = `10.77.${n}.1`;
  const nsAddress = `10.77.${n}.2`;
  const onExit = (): void => destroyNamespace(name);
  process.on('exit', onExit);
  try {
    ip('addr', 'add', `${hostAddress}/24`, 'dev', hostInterface);
    ip('link', 'set', hostInterface, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'addr', 'add', `${nsAddress}/24`, 'dev', nsInterface);
    ip('-n', name, 'link', 'set', nsInterface, 'up');
  } catch (error) {
    destroyNamespace(name);
    process.off('exit', onExit);
    throw error;
  }

  const dir = mkdtempSync(join(tmpdir(), NS_PREFIX));
  const children = new Set<ChildProcess>();
  let spawned = 0;
  let janusCount = 0;
  let coturnCount = 0;
  let closed = false;

  const exec = (command: string, args: string[], logFile?: string): ChildProcess => {
    if (closed) throw new Error('MediaNet is closed');
    const log = logFile ?? join(dir, `${command.split('/').pop()}-${++spawned}.log`);
    const fd = openSync(log, 'a');
    // `ip netns exec` execs the command itself, so child.pid is the command's pid.
    const child = spawn(ipBinary() ?? 'ip', ['netns', 'exec', name, command, ...args], {
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  const startJanus = async (options: JanusOptions = {}): Promise<JanusProcess> => {
    const index = janusCount++;
    const apiSecret = options.apiSecret ?? randomBytes(12).toString('hex');
    const adminSecret = randomBytes(12).toString('hex');
    const wsPort = options.wsPort ?? 8188 + 10 * index;
    const adminPort = wsPort + 1;
    const rtpPorts = options.rtpPorts ?? [20000 + 100 * index, 20099 + 100 * index];
    const configDir = join(dir, `janus-${index}`);
    mkdirSync(configDir);
    const values = {
      API_SECRET: apiSecret,
      ADMIN_SECRET: adminSecret,
      RTP_PORT_RANGE: `${rtpPorts[0]}-${rtpPorts[1]}`,
      ICE_ENFORCE_LIST: nsInterface,
      INTERFACE_IP: nsAddress,
      WS_IP: nsAddress,
      WS_PORT: wsPort,
      ADMIN_WS_PORT: adminPort,
    };
    for (const file of ['janus.jcfg', 'janus.transport.websockets.jcfg', 'janus.plugin.videoroom.jcfg']) {
      writeFileSync(join(configDir, file), fillTemplate(`deploy/janus/${file}`, values));
    }
    const logFile = join(configDir, 'janus.log');
    const child = exec(
      JANUS,
      ['-F', configDir, '-C', join(configDir, 'janus.jcfg'), '-N', '-L', logFile],
      join(configDir, 'stdout.log'),
    );
    try {
      await waitForTcp(nsAddress, wsPort, () => child.exitCode !== null || child.signalCode !== null);
    } catch (error) {
      await stop(child, 'SIGKILL');
      throw new Error(`Janus did not start: ${(error as Error).message}\n--- ${logFile}\n${tail(logFile)}`, {
        cause: error,
      });
    }
    return {
      url: `ws://${nsAddress}:${wsPort}`,
      apiSecret,
      adminUrl: `ws://${nsAddress}:${adminPort}`,
      adminSecret,
      rtpPorts,
      logFile,
      pid: child.pid!,
      kill: (signal) => stop(child, signal),
    };
  };

  const startCoturn = async (options: CoturnOptions): Promise<CoturnProcess> => {
    const index = coturnCount++;
    const port = options.port ?? 3478 + 10 * index;
    const relayPorts = options.relayPorts ?? [49200 + 100 * index, 49299 + 100 * index];
    const logFile = join(dir, `turnserver-${index}.log`);
    const config = join(dir, `turnserver-${index}.conf`);
    writeFileSync(
      config,
      fillTemplate('deploy/coturn/turnserver.conf', {
        LISTEN_IP: nsAddress,
        PORT: port,
        SECRET: options.secret,
        REALM: 'streammeon.test',
        JANUS_IP: nsAddress,
        MIN_PORT: relayPorts[0],
        MAX_PORT: relayPorts[1],
        LOG_FILE: logFile,
      }),
    );
    // Its own pid file and (empty) user database, instead of /var/run and /var/lib/turn shared
    // with any other coturn on the machine.
    const child = exec(
      TURNSERVER,
      ['-c', config, '--pidfile', join(dir, `turnserver-${index}.pid`), '--db', join(dir, `turndb-${index}`)],
      join(dir, `turnserver-${index}.stdout.log`),
    );
    try {
      // coturn listens on TCP as well as UDP, and opens both together.
      await waitForTcp(nsAddress, port, () => child.exitCode !== null || child.signalCode !== null);
    } catch (error) {
      await stop(child, 'SIGKILL');
      throw new Error(`coturn did not start: ${(error as Error).message}\n--- ${logFile}\n${tail(logFile)}`, {
        cause: error,
      });
    }
    return {
      urls: [`turn:${nsAddress}:${port}?transport=udp`],
      secret: options.secret,
      logFile,
      pid: child.pid!,
      kill: (signal) => stop(child, signal),
    };
  };

  let wrapper: string | undefined;
  const chromiumExecutable = (): string => {
    if (!wrapper) {
      wrapper = join(dir, 'chromium-in-namespace');
      // exec keeps Playwright's pipes (fds 3 and 4) and makes Chromium the process Playwright
      // started, so closing the browser ends it.
      writeFileSync(wrapper, `#!/bin/sh\nexec ${ipBinary() ?? 'ip'} netns exec ${name} ${CHROMIUM} "$@"\n`);
      chmodSync(wrapper, 0o755);
    }
    return wrapper;
  };

  const chromiumArgs = (pageOrigins: string[]): string[] => [
    ...CHROMIUM_ARGS,
    // No DNS in the namespace: fail every lookup at once instead of waiting for a resolver.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE ${hostAddress}, EXCLUDE ${nsAddress}`,
    // getUserMedia needs a secure context, and the pages are plain http on a non-localhost address.
    `--unsafely-treat-insecure-origin-as-secure=${pageOrigins.join(',')}`,
    // Host candidates as IP addresses, not random .local names (Janus ignores mDNS ones).
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ];

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all([...children].map((child) => stop(child)));
    // Anything else in there (Chromium and its helpers if a browser was left open): kill them
    // all and wait until none runs.
    const seen = new Set<number>();
    const deadline = Date.now() + 5000;
    for (;;) {
      for (const pid of pidsIn(name)) seen.add(pid);
      const left = [...seen].filter(running);
      if (left.length === 0 || Date.now() > deadline) break;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await sleep(20);
    }
    destroyNamespace(name);
    process.off('exit', onExit);
    if (process.env.MEDIA_NET_KEEP === '1') console.log(`media-net logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };

  return {
    name,
    hostAddress,
    nsAddress,
    hostInterface,
    nsInterface,
    dir,
    exec,
    startJanus,
    startCoturn,
    chromiumExecutable,
    chromiumArgs,
    close,
  };
}
