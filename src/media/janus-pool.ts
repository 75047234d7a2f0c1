import Janode, { type JanodeConnection, type JanodeSession } from 'janode';
import type { FastifyBaseLogger } from 'fastify';
import { unavailable } from '../contract/errors.js';

/** One Janus server as the pool sees it. */
export interface JanusServerStatus {
  /** host:port of its WebSocket API: how logs, `/health` and the database name it. */
  name: string;
  reachable: boolean;
}

interface Server {
  name: string;
  url: string;
  connection: JanodeConnection | undefined;
  session: JanodeSession | undefined;
  /** The attempt under way, so that callers share it. */
  connecting: Promise<void> | undefined;
  retry: NodeJS.Timeout | undefined;
}

export interface JanusPoolOptions {
  apiSecret: string | undefined;
  /** Wait between attempts to reach a server that is down. */
  retryMs?: number;
  /** Janus session keep-alive; Janus drops sessions silent for 60 s by default. */
  keepAliveSeconds?: number;
}

/**
 * How long a Janus server may take to answer our WebSocket's opening and closing handshakes.
 * Janus answers both at once; one that does not (stopped, wedged, a dead link) must not hold a
 * connection attempt, or `app.close()`, for ws's default 30 s. So close() ends within
 * HANDSHAKE_MS + CLOSE_HANDSHAKE_MS whatever the servers do (docs/hardening.md).
 */
const HANDSHAKE_MS = 3_000;
const CLOSE_HANDSHAKE_MS = 1_000;

/** `ws://10.0.0.2:8188/janus` → `10.0.0.2:8188`. */
export function serverName(url: string): string {
  return new URL(url).host;
}

/**
 * One Janus session per configured server, kept open: connected at start, watched through
 * janode's events, and re-opened in the background when the server drops or restarts. A
 * server that is lost is reported once to every `onLost` listener, which move its rooms and
 * tell its publishers and viewers to reconnect.
 */
export class JanusPool {
  readonly #servers = new Map<string, Server>();
  readonly #lostListeners: ((name: string) => void)[] = [];
  readonly #retryMs: number;
  readonly #keepAliveSeconds: number;
  #closed = false;

  constructor(
    urls: string[],
    private readonly options: JanusPoolOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    // janode prints to stdout in its own format; what matters reaches pino through its events.
    Janode.Logger.setLevel('none');
    this.#retryMs = options.retryMs ?? 1_000;
    this.#keepAliveSeconds = options.keepAliveSeconds ?? 15;
    for (const url of urls) {
      const name = serverName(url);
      this.#servers.set(name, {
        name,
        url,
        connection: undefined,
        session: undefined,
        connecting: undefined,
        retry: undefined,
      });
    }
  }

  /** Calls `listener` with the name of every server whose session was lost. */
  onLost(listener: (name: string) => void): void {
    this.#lostListeners.push(listener);
  }

  /** Connects to every server; resolves when each has answered or failed once. */
  async start(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((server) => this.#connect(server)));
  }

  /** The open Janus session on `name`; `unavailable` when that server is down. */
  session(name: string): JanodeSession {
    const session = this.#servers.get(name)?.session;
    if (!session) throw unavailable(`The media server ${name} is unreachable; try again shortly`);
    return session;
  }

  isReachable(name: string): boolean {
    return this.#servers.get(name)?.session !== undefined;
  }

  /** Names of the servers reachable now, in configuration order. */
  reachable(): string[] {
    return [...this.#servers.values()].filter((s) => s.session).map((s) => s.name);
  }

  status(): JanusServerStatus[] {
    return [...this.#servers.values()].map((s) => ({ name: s.name, reachable: s.session !== undefined }));
  }

  /**
   * Closes every connection, the one being opened too: requests still waiting on Janus fail
   * ("connection closed") instead of waiting for an answer that may never come. Bounded by
   * HANDSHAKE_MS + CLOSE_HANDSHAKE_MS.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#servers.values()].map(async (server) => {
        clearTimeout(server.retry);
        const { connection } = server;
        server.session = undefined;
        server.connection = undefined;
        await connection?.close().catch(() => {});
        await server.connecting;
      }),
    );
  }

  #connect(server: Server): Promise<void> {
    server.connecting ??= this.#open(server).finally(() => {
      server.connecting = undefined;
    });
    return server.connecting;
  }

  async #open(server: Server): Promise<void> {
    let connection: JanodeConnection | undefined;
    try {
      connection = await Janode.connect({
        address: { url: server.url, apisecret: this.options.apiSecret },
        retry_time_secs: 1,
        max_retries: 0,
        ws_options: { handshakeTimeout: HANDSHAKE_MS, closeTimeout: CLOSE_HANDSHAKE_MS },
      });
      if (this.#closed) {
        await connection.close().catch(() => {});
        return;
      }
      // Known before the session exists, so that close() can cut a create() Janus never answers.
      server.connection = connection;
      // A wrong api_secret passes the WebSocket handshake and fails here.
      const session = await connection.create(this.#keepAliveSeconds);
      if (this.#closed) return;
      server.session = session;
      const lost = (why: string) => this.#lost(server, connection as JanodeConnection, why);
      connection.once(Janode.EVENT.CONNECTION_ERROR, () => lost('connection lost'));
      connection.once(Janode.EVENT.CONNECTION_CLOSED, () => lost('connection closed'));
      session.once(Janode.EVENT.SESSION_DESTROYED, () => lost('session destroyed'));
      this.log.info({ janus: server.name }, 'media server connected');
    } catch (error) {
      if (server.connection === connection) server.connection = undefined;
      await connection?.close().catch(() => {});
      if (this.#closed) return;
      this.log.warn({ janus: server.name, err: error }, 'media server unreachable; retrying');
      this.#scheduleRetry(server);
    }
  }

  #lost(server: Server, connection: JanodeConnection, why: string): void {
    if (server.connection !== connection) return;
    server.connection = undefined;
    server.session = undefined;
    void connection.close().catch(() => {});
    if (this.#closed) return;
    this.log.warn({ janus: server.name, why }, 'media server lost');
    for (const listener of this.#lostListeners) listener(server.name);
    this.#scheduleRetry(server);
  }

  #scheduleRetry(server: Server): void {
    if (this.#closed) return;
    clearTimeout(server.retry);
    server.retry = setTimeout(() => void this.#connect(server), this.#retryMs);
    server.retry.unref();
  }
}
