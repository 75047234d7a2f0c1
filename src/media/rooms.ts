import { randomBytes, randomInt } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import VideoRoomPlugin, { type VideoRoomHandle } from 'janode/plugins/videoroom';
import type { FastifyBaseLogger } from 'fastify';
import type { MediaState } from '../contract/media.js';
import { DomainError, unavailable } from '../contract/errors.js';
import type { Database } from '../db/schema.js';
import type { JanusPool } from './janus-pool.js';
import type { MediaEvents } from './media-events.js';
import type { RecordingPolicy } from './recording-policy.js';

/** A session's VideoRoom: where it is and how to manage it. */
export interface Room {
  sessionId: string;
  server: string;
  roomId: number;
  secret: string;
  /** The current publisher's feed id, or undefined while nobody publishes. */
  publisher: string | undefined;
  state: MediaState;
}

/** Up to this many publishers at once: the newest replaces the others, which overlap it briefly. */
const MAX_PUBLISHERS = 3;

/**
 * Rooms follow sessions: a session's VideoRoom is created on the least-loaded reachable Janus at
 * its first publish, with a random secret kept in the database only, and destroyed when the
 * session ends. A room whose Janus was lost (or restarted) is created again, elsewhere if
 * need be, by the next publish.
 *
 * The publisher and the media state live in the `media_rooms` row, changed only on the condition
 * that the publisher is the one the caller knows: a replaced publisher's hang-up changes nothing.
 */
export class MediaRooms {
  /** Per session: the `ensure` under way on this instance, so that two publishes share one room. */
  readonly #ensuring = new Map<string, Promise<Room>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly pool: JanusPool,
    private readonly events: MediaEvents,
    private readonly log: FastifyBaseLogger,
    private readonly recording?: RecordingPolicy,
  ) {}

  /** The session's room, or undefined before its first publish. */
  async get(sessionId: string): Promise<Room | undefined> {
    const row = await this.db
      .selectFrom('media_rooms')
      .selectAll()
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      sessionId,
      server: row.server,
      roomId: Number(row.room_id),
      secret: row.secret,
      publisher: row.publisher ?? undefined,
      state: row.state as MediaState,
    };
  }

  /** What viewers of the session are told about its video. */
  async state(sessionId: string): Promise<MediaState> {
    return (await this.get(sessionId))?.state ?? 'stopped';
  }

  /** The session's room on a reachable Janus, created (or created again) if need be. */
  ensure(sessionId: string): Promise<Room> {
    let pending = this.#ensuring.get(sessionId);
    if (!pending) {
      pending = this.#ensure(sessionId).finally(() => this.#ensuring.delete(sessionId));
      this.#ensuring.set(sessionId, pending);
    }
    return pending;
  }

  /**
   * Makes `feed` the session's publisher; its video is not live until `publisherLive`. Viewers
   * of a replaced publisher hear `reconnecting`, then `live` again when the new one's media flows.
   */
  async publisherJoined(sessionId: string, feed: string): Promise<void> {
    const replaced = await this.db
      .updateTable('media_rooms')
      .set({ publisher: feed, state: 'reconnecting', updated_at: sql<Date>`now()` })
      .where('session_id', '=', sessionId)
      .where('state', '=', 'live')
      .returning('session_id')
      .executeTakeFirst();
    if (replaced) {
      this.events.mediaState(sessionId, 'reconnecting');
      return;
    }
    await this.db
      .updateTable('media_rooms')
      .set({ publisher: feed, updated_at: sql<Date>`now()` })
      .where('session_id', '=', sessionId)
      .execute();
  }

  /** The publisher's media flows: viewers may subscribe. */
  async publisherLive(sessionId: string, feed: string): Promise<void> {
    await this.#transition(sessionId, feed, 'live', feed);
  }

  /**
   * The publisher went away without stopping (hang-up, lost network, reload): viewers wait for
   * it to come back. Nothing happens when `feed` was already replaced.
   */
  async publisherLost(sessionId: string, feed: string): Promise<void> {
    await this.#transition(sessionId, feed, 'reconnecting', null);
  }

  /** The publisher stopped on purpose (WHIP DELETE). */
  async publisherStopped(sessionId: string, feed: string): Promise<void> {
    await this.#transition(sessionId, feed, 'stopped', null);
  }

  /**
   * A Janus server was lost: its sessions' viewers and publishers hear `reconnecting` (once,
   * whichever instance noticed first), and their rooms will be created again by the next publish.
   */
  async serverLost(server: string): Promise<void> {
    const changed = await this.db
      .updateTable('media_rooms')
      .set({ state: 'reconnecting', publisher: null, updated_at: sql<Date>`now()` })
      .where('server', '=', server)
      .where('state', '<>', 'reconnecting')
      .returning('session_id')
      .execute();
    for (const { session_id } of changed) this.events.mediaState(session_id, 'reconnecting');
  }

  /** Destroys the session's room (its session ended) and forgets it. */
  async destroy(sessionId: string): Promise<void> {
    const row = await this.db
      .deleteFrom('media_rooms')
      .where('session_id', '=', sessionId)
      .returningAll()
      .executeTakeFirst();
    if (!row || !this.pool.isReachable(row.server)) return;
    await this.#withHandle(row.server, (handle) =>
      handle.destroy({ room: Number(row.room_id), secret: row.secret }),
    ).catch((error: unknown) =>
      this.log.warn({ err: error, session: sessionId }, 'could not destroy the media room'),
    );
  }

  /** Live rooms per reachable server, for placement and `/health`. */
  async load(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('media_rooms')
      .innerJoin('live_sessions', 'live_sessions.id', 'media_rooms.session_id')
      .where('live_sessions.is_live', '=', true)
      .select(['media_rooms.server', (eb) => eb.fn.countAll<string>().as('rooms')])
      .groupBy('media_rooms.server')
      .execute();
    return new Map(rows.map((row) => [row.server, Number(row.rooms)]));
  }

  /**
   * Runs `use` with a VideoRoom handle on `server`, detached afterwards. A server lost meanwhile
   * (its connection closed under the request, or this instance shutting down) is `unavailable`.
   */
  async #withHandle<T>(server: string, use: (handle: VideoRoomHandle) => Promise<T>): Promise<T> {
    try {
      const handle = await this.pool.session(server).attach(VideoRoomPlugin);
      try {
        return await use(handle);
      } finally {
        await handle.detach().catch(() => {});
      }
    } catch (error) {
      if (error instanceof DomainError || this.pool.isReachable(server)) throw error;
      throw unavailable(`The media server ${server} went away during the request; try again shortly`);
    }
  }

  async #ensure(sessionId: string): Promise<Room> {
    const existing = await this.get(sessionId);
    if (existing && this.pool.isReachable(existing.server)) {
      const { exists } = await this.#withHandle(existing.server, (handle) =>
        handle.exists({ room: existing.roomId }),
      );
      if (exists) return existing;
    }
    const server = await this.#leastLoaded();
    const roomId = randomInt(1, 2 ** 31);
    const secret = randomBytes(24).toString('base64url');
    // Janus writes one .mjr file per track and publisher into the folder; the replays service
    // turns them into one file when the session ends.
    const recDir = await this.recording?.recordingDir(sessionId);
    await this.#withHandle(server, (handle) =>
      handle.create({
        room: roomId,
        secret,
        is_private: true,
        max_publishers: MAX_PUBLISHERS,
        audiocodec: 'opus',
        // VP8 for browsers, H.264 for what OBS and most hardware encoders send.
        videocodec: 'vp8,h264',
        notify_joining: false,
        // Recorded rooms ask the publisher for a key frame every 2 s (Janus's fir_freq, sent as
        // PLI): the replay copies the recorded video, and a player seeks to key frames only.
        ...(recDir ? { record: true, rec_dir: recDir, fir_freq: 2 } : {}),
      }),
    );
    // Conditional on what was read: an instance that placed the room meanwhile wins.
    const stored = await this.db
      .insertInto('media_rooms')
      .values({ session_id: sessionId, server, room_id: roomId, secret, state: existing?.state ?? 'stopped' })
      .onConflict((oc) =>
        oc
          .column('session_id')
          .doUpdateSet({ server, room_id: roomId, secret, updated_at: sql<Date>`now()` })
          .where('media_rooms.room_id', '=', existing?.roomId ?? -1),
      )
      .returningAll()
      .executeTakeFirst();
    if (stored) {
      this.log.info({ session: sessionId, janus: server, room: roomId }, 'media room created');
      return { sessionId, server, roomId, secret, publisher: undefined, state: stored.state as MediaState };
    }
    await this.#withHandle(server, (handle) => handle.destroy({ room: roomId, secret })).catch(() => {});
    const winner = await this.get(sessionId);
    if (!winner) throw unavailable('The media room could not be created; try again');
    return winner;
  }

  async #leastLoaded(): Promise<string> {
    const reachable = this.pool.reachable();
    if (reachable.length === 0) throw unavailable('No media server is reachable; try again shortly');
    const load = await this.load();
    // Fewest live rooms first; ties go to the first configured.
    return reachable.reduce((best, name) => ((load.get(name) ?? 0) < (load.get(best) ?? 0) ? name : best));
  }

  async #transition(
    sessionId: string,
    feed: string,
    state: MediaState,
    publisher: string | null,
  ): Promise<void> {
    const changed = await this.db
      .updateTable('media_rooms')
      .set({ state, publisher, updated_at: sql<Date>`now()` })
      .where('session_id', '=', sessionId)
      .where('publisher', '=', feed)
      .where('state', '<>', state)
      .returning('session_id')
      .executeTakeFirst();
    if (changed) this.events.mediaState(sessionId, state);
  }
}
