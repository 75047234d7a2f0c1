/**
 * The service's Prometheus metrics (prom-client), one registry per app: no module-level state, so
 * tests and benchmarks can build several apps in one process. Every name starts `streammeon_`;
 * docs/metrics.md lists them and docs/grafana-dashboard.json charts them.
 *
 * Hot paths never call into prom-client per recipient: WebSocket sends are added up in plain
 * numbers (SocketTally), once per batch on the fan-out path, and turned into counters only when
 * Prometheus scrapes. Gauges of state that already exists elsewhere (rooms, sockets, the pool)
 * read it at scrape time through `MetricSources`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RedisConnections } from '../redis.js';

/** The two WebSocket endpoints, as the `endpoint` label names them. */
export type Endpoint = 'live' | 'signal';
export const ENDPOINTS: readonly Endpoint[] = ['live', 'signal'];

/**
 * Why a message meant for a client was not written to it:
 * - `slow_reader`: its unsent bytes passed WS_MAX_BUFFERED_BYTES; the socket was dropped with it;
 * - `superseded`: a `views_total` broadcast while the peer's opening was prepared (the opening
 *   carries a newer number);
 * - `relay_backpressure`: a relayed signaling frame for a peer already half full;
 * - `not_open`: the socket was already closing.
 */
export type DropReason = 'slow_reader' | 'superseded' | 'relay_backpressure' | 'not_open';
export const DROP_REASONS: readonly DropReason[] = [
  'slow_reader',
  'superseded',
  'relay_backpressure',
  'not_open',
];

/**
 * One endpoint's open sockets, the messages its peers were sent and those dropped, as plain
 * numbers the socket code adds to (no allocation, no call) and the metrics read when scraped.
 */
export class SocketTally {
  /** Open connections on this instance. */
  open = 0;
  /** Messages written to clients (a frame of several messages counts each). */
  sent = 0;
  readonly dropped: Record<DropReason, number> = {
    slow_reader: 0,
    superseded: 0,
    relay_backpressure: 0,
    not_open: 0,
  };
}

/** State read when Prometheus scrapes; wired by features/metrics.ts once the parts exist. */
export interface MetricSources {
  /** `/ws/live` rooms (sessions with at least one peer here) on this instance. */
  rooms(): number;
  /** Viewer connections (non-vendors on `/ws/live`) on this instance. */
  viewers(): number;
  /** The PostgreSQL pool; undefined on PGlite (one embedded connection, no pool). */
  pool(): { total: number; idle: number; waiting: number } | undefined;
  /** The bus: `memory` (one process), `redis` (connected) or `down`. */
  bus(): 'memory' | 'redis' | 'down';
  /** Webhook events not yet delivered nor given up (a database count). */
  webhooksPending?(): Promise<number>;
}

/** Seconds buckets from 1 ms to 10 s: REST answers, and fan-out from commit to the last write. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  /** Per endpoint: what its peers were sent and what was dropped. */
  readonly tallies: Record<Endpoint, SocketTally> = { live: new SocketTally(), signal: new SocketTally() };
  /**
   * Per `/ws/live` room flush: from the moment its first message reached the hub (on the instance
   * that committed it, right after the commit; elsewhere, on arrival from Redis) to the last
   * socket write of the batch.
   */
  readonly fanoutDelay: Histogram;
  readonly commentsAccepted: Counter;
  readonly commentsRefused: Counter<'reason'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly busReconnects: Counter;
  readonly webhookAttempts: Counter<'type' | 'outcome'>;
  /** Encoder streams over RTMP, by what the ingest did with their video. */
  readonly ingestStreams: Counter<'protocol' | 'video'>;
  #sources: MetricSources | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const tallies = this.tallies;
    const sources = () => this.#sources;
    const reported: Record<Endpoint, number> = { live: 0, signal: 0 };
    const reportedDrops: Record<Endpoint, Record<DropReason, number>> = {
      live: { slow_reader: 0, superseded: 0, relay_backpressure: 0, not_open: 0 },
      signal: { slow_reader: 0, superseded: 0, relay_backpressure: 0, not_open: 0 },
    };
    new Counter({
      name: 'streammeon_ws_messages_sent_total',
      help: 'WebSocket messages written to clients, by endpoint (a frame of n messages counts n)',
      labelNames: ['endpoint'],
      registers,
      collect() {
        for (const endpoint of ENDPOINTS) {
          const now = tallies[endpoint].sent;
          this.inc({ endpoint }, now - reported[endpoint]);
          reported[endpoint] = now;
        }
      },
    });
    new Counter({
      name: 'streammeon_ws_messages_dropped_total',
      help: 'WebSocket messages not written to a client, by endpoint and reason',
      labelNames: ['endpoint', 'reason'],
      registers,
      collect() {
        for (const endpoint of ENDPOINTS) {
          for (const reason of DROP_REASONS) {
            const now = tallies[endpoint].dropped[reason];
            this.inc({ endpoint, reason }, now - reportedDrops[endpoint][reason]);
            reportedDrops[endpoint][reason] = now;
          }
        }
      },
    });
    new Gauge({
      name: 'streammeon_ws_open_sockets',
      help: 'Open WebSocket connections on this instance, by endpoint',
      labelNames: ['endpoint'],
      registers,
      collect() {
        for (const endpoint of ENDPOINTS) this.set({ endpoint }, tallies[endpoint].open);
      },
    });
    new Gauge({
      name: 'streammeon_live_rooms',
      help: 'Live sessions with at least one /ws/live peer on this instance',
      registers,
      collect() {
        this.set(sources()?.rooms() ?? 0);
      },
    });
    new Gauge({
      name: 'streammeon_live_viewers',
      help: 'Viewer connections (non-vendors on /ws/live) on this instance',
      registers,
      collect() {
        this.set(sources()?.viewers() ?? 0);
      },
    });
    this.fanoutDelay = new Histogram({
      name: 'streammeon_fanout_delay_seconds',
      help: 'Per room batch: from its first message reaching the hub (on the committing instance, right after the commit) to the last socket write',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.commentsAccepted = new Counter({
      name: 'streammeon_comments_accepted_total',
      help: 'Comments stored (REST and WebSocket)',
      registers,
    });
    this.commentsRefused = new Counter({
      name: 'streammeon_comments_refused_total',
      help: 'Comments refused, by reason (the domain error code: invalid, rate_limited, session_ended, …)',
      labelNames: ['reason'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'streammeon_http_request_duration_seconds',
      help: 'REST answers by method, route (its pattern) and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'streammeon_db_pool_connections',
      help: 'PostgreSQL pool connections by state (in_use, idle); absent on PGlite',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = sources()?.pool();
        if (!pool) return;
        this.set({ state: 'in_use' }, pool.total - pool.idle);
        this.set({ state: 'idle' }, pool.idle);
      },
    });
    new Gauge({
      name: 'streammeon_db_pool_waiting',
      help: 'Queries waiting for a PostgreSQL pool connection; absent on PGlite',
      registers,
      collect() {
        const pool = sources()?.pool();
        if (pool) this.set(pool.waiting);
      },
    });
    new Gauge({
      name: 'streammeon_bus_up',
      help: '1 while the bus works (in-process, or Redis connected), 0 while Redis is unreachable',
      labelNames: ['backend'],
      registers,
      collect() {
        const status = sources()?.bus() ?? 'memory';
        this.reset();
        this.set({ backend: status === 'memory' ? 'memory' : 'redis' }, status === 'down' ? 0 : 1);
      },
    });
    this.busReconnects = new Counter({
      name: 'streammeon_bus_reconnects_total',
      help: 'Times the Redis connections became ready again after losing Redis',
      registers,
    });
    this.ingestStreams = new Counter({
      name: 'streammeon_ingest_streams_total',
      help: 'Encoder streams accepted (RTMP), by protocol and what became of their video (copy, transcode, refused)',
      labelNames: ['protocol', 'video'],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'streammeon_webhook_attempts_total',
      help: 'Webhook delivery attempts by event type and outcome (delivered, failed, gave_up)',
      labelNames: ['type', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'streammeon_webhook_outbox_pending',
      help: 'Webhook deliveries waiting in the outbox (neither delivered nor given up)',
      registers,
      async collect() {
        const pending = sources()?.webhooksPending?.();
        if (pending) this.set(await pending.catch(() => Number.NaN));
      },
    });
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'streammeon_' });
    }
  }

  /** Where the scrape-time gauges read from (features/metrics.ts, once the hubs and the store exist). */
  readFrom(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** Counts the Redis connections becoming ready again after an outage. */
  watchRedis(redis: RedisConnections): void {
    let wasReady = redis.commands.status === 'ready';
    redis.commands.on('ready', () => {
      if (wasReady) this.busReconnects.inc();
      wasReady = true;
    });
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
