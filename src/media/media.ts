import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { MediaConfig } from '../config.js';
import { unavailable } from '../contract/errors.js';
import type { MediaHealth, MediaMode, MediaState } from '../contract/media.js';
import type { Database } from '../db/schema.js';
import { JanusPool } from './janus-pool.js';
import type { MediaEvents } from './media-events.js';
import type { RecordingPolicy } from './recording-policy.js';
import { Publishers } from './publishers.js';
import { MediaRooms } from './rooms.js';
import { Subscribers } from './subscribers.js';

/** The parts of SFU mode, present only when Janus servers are configured. */
export interface Sfu {
  pool: JanusPool;
  rooms: MediaRooms;
  publishers: Publishers;
  subscribers: Subscribers;
}

/**
 * Video through Janus (SFU mode) when JANUS_URL(S) is set; otherwise mesh mode, where video goes
 * browser to browser over `/ws/signal` and none of this runs.
 */
export class Media {
  readonly mode: MediaMode;
  readonly #sfu: Sfu | undefined;

  constructor(
    config: MediaConfig,
    db: Kysely<Database>,
    events: MediaEvents,
    log: FastifyBaseLogger,
    recording?: RecordingPolicy,
  ) {
    this.mode = config.janusUrls.length > 0 ? 'sfu' : 'mesh';
    if (this.mode === 'mesh') return;
    const pool = new JanusPool(config.janusUrls, { apiSecret: config.janusApiSecret }, log);
    const rooms = new MediaRooms(db, pool, events, log, recording);
    const publishers = new Publishers(pool, rooms, log);
    const subscribers = new Subscribers(pool, rooms);
    pool.onLost((server) => {
      publishers.serverLost(server);
      subscribers.serverLost(server);
      void rooms.serverLost(server).catch((error: unknown) => {
        log.error({ err: error, janus: server }, 'could not move the rooms of a lost media server');
      });
    });
    this.#sfu = { pool, rooms, publishers, subscribers };
  }

  /** SFU mode's parts; `unavailable` in mesh mode. */
  sfu(): Sfu {
    if (!this.#sfu) {
      throw unavailable('No media server is configured (JANUS_URL): video goes over /ws/signal (mesh)');
    }
    return this.#sfu;
  }

  /** Connects to the Janus servers (each answers or fails once; those down are retried). */
  async start(): Promise<void> {
    await this.#sfu?.pool.start();
  }

  /** What a viewer joining now is told about the session's video; undefined in mesh mode. */
  async state(sessionId: string): Promise<MediaState | undefined> {
    return this.#sfu?.rooms.state(sessionId);
  }

  /**
   * The session ended: this instance's WHIP and WHEP handles go, and `destroyRoom` (the instance
   * that ended it) destroys its room, which hangs up the handles other instances hold.
   */
  async sessionEnded(sessionId: string, destroyRoom: boolean): Promise<void> {
    if (!this.#sfu) return;
    this.#sfu.publishers.sessionEnded(sessionId);
    this.#sfu.subscribers.sessionEnded(sessionId);
    if (destroyRoom) await this.#sfu.rooms.destroy(sessionId);
  }

  async health(): Promise<MediaHealth> {
    if (!this.#sfu) return { mode: 'mesh', servers: [] };
    const load = await this.#sfu.rooms.load().catch(() => new Map<string, number>());
    return {
      mode: 'sfu',
      servers: this.#sfu.pool.status().map((s) => ({ ...s, rooms: load.get(s.name) ?? 0 })),
    };
  }

  async close(): Promise<void> {
    if (!this.#sfu) return;
    this.#sfu.publishers.close();
    this.#sfu.subscribers.close();
    await this.#sfu.pool.close();
  }
}
