import { randomInt } from 'node:crypto';
import Janode from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle } from 'janode/plugins/videoroom';
import type { FastifyBaseLogger } from 'fastify';
import { badSdp, DomainError } from '../contract/errors.js';
import type { UserId } from '../db/schema.js';
import type { JanusPool } from './janus-pool.js';
import { isWildcard, janusReason, MediaResource, ResourceTable, type IfMatch } from './resource.js';
import type { MediaRooms } from './rooms.js';
import { answerFragment, checkSessionDescription, parseFragment, restartOffer } from './sdp.js';

/** A WHIP session: the vendor's stream into the session's VideoRoom. */
class Publisher extends MediaResource {
  /** The last offer, the base of an ICE-restart offer. */
  offer = '';
  live = false;
  timer: NodeJS.Timeout | undefined;
  /** Told once when this publisher stops being the session's, for whatever reason. */
  onGone: (() => void) | undefined;

  constructor(
    sessionId: string,
    userId: UserId,
    server: string,
    handle: VideoRoomHandle,
    readonly feed: string,
  ) {
    super(sessionId, userId, server, handle);
  }
}

/** What a publish answers: the WHIP resource and Janus's SDP answer. */
export interface Published {
  resourceId: string;
  etag: string;
  answer: string;
}

/** What a PATCH answers: 204, or 200 with the ICE-restart fragment and the new tag. */
export type Patched = { restarted: false } | { restarted: true; fragment: string; etag: string };

/** A publisher whose media has not flowed by then is dropped (its handle would leak otherwise). */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * WHIP ingest (RFC 9725) into Janus's VideoRoom: one publisher per session, the newest replacing
 * the others, whose state changes (`live`, `reconnecting`, `stopped`) reach viewers through the
 * room's row (MediaRooms). The caller checks who may publish to which session.
 */
export class Publishers {
  readonly #table = new ResourceTable<Publisher>('WHIP');

  constructor(
    private readonly pool: JanusPool,
    private readonly rooms: MediaRooms,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * Publishes `offer` to the session's room and returns Janus's answer. Replaces older publishers.
   * `onGone` hears once when this publisher goes (stopped, replaced, lost, or the session ended).
   */
  async publish(sessionId: string, userId: UserId, offer: string, onGone?: () => void): Promise<Published> {
    const sdp = checkSessionDescription(offer, 'offer');
    const room = await this.rooms.ensure(sessionId);
    const handle = await this.pool.session(room.server).attach(VideoRoomPlugin);
    const feed = String(randomInt(1, 2 ** 31));
    const publisher = new Publisher(sessionId, userId, room.server, handle, feed);
    let answer: string | undefined;
    try {
      const joined = await handle.joinConfigurePublisher({
        room: room.roomId,
        feed: Number(feed),
        display: 'vendor',
        jsep: { type: 'offer', sdp },
      });
      answer = joined.jsep?.sdp;
      if (!answer) throw new Error('Janus sent no answer');
    } catch (error) {
      publisher.close();
      // A room made for this offer alone is not left behind in Janus.
      if (room.publisher === undefined && room.state === 'stopped') await this.rooms.destroy(sessionId);
      throw badSdp(`The media server refused the offer: ${janusReason(error)}`);
    }
    publisher.offer = sdp;
    publisher.onGone = onGone;
    this.#watch(publisher);
    this.#table.add(publisher);
    await this.rooms.publisherJoined(sessionId, feed);
    await this.#replaceOthers(publisher, room.roomId, room.secret);
    return { resourceId: publisher.id, etag: publisher.etag, answer };
  }

  /**
   * A trickle PATCH: candidates for Janus, or an ICE restart (new credentials, `If-Match: *`)
   * answered with Janus's new credentials and candidates.
   */
  async patch(
    sessionId: string,
    id: string,
    userId: UserId,
    body: string,
    ifMatch: IfMatch,
  ): Promise<Patched> {
    const publisher = this.#table.owned(sessionId, id, userId);
    const fragment = parseFragment(body);
    const current = /^a=ice-ufrag:(\S+)/m.exec(publisher.offer)?.[1];
    if (fragment.ufrag && fragment.pwd && fragment.ufrag !== current) {
      if (!isWildcard(ifMatch)) {
        throw new DomainError('precondition_failed', 'An ICE restart needs If-Match: * (RFC 9725 §4.4.2)');
      }
      const offer = restartOffer(publisher.offer, fragment.ufrag, fragment.pwd);
      const configured = await publisher.handle
        .configure({ jsep: { type: 'offer', sdp: offer } })
        .catch((error) => {
          throw badSdp(`The media server refused the ICE restart: ${janusReason(error)}`);
        });
      if (!configured.jsep) throw badSdp('The media server sent no answer to the ICE restart');
      publisher.offer = offer;
      await this.#trickle(publisher, fragment.candidates, fragment.complete);
      return { restarted: true, fragment: answerFragment(configured.jsep.sdp), etag: publisher.renewEtag() };
    }
    if (!publisher.matches(ifMatch) || isWildcard(ifMatch)) {
      throw new DomainError(
        'precondition_failed',
        `If-Match does not name this resource's ETag ${publisher.etag}`,
      );
    }
    await this.#trickle(publisher, fragment.candidates, fragment.complete);
    return { restarted: false };
  }

  /** WHIP DELETE: the vendor stops publishing (the session stays live). */
  async stop(sessionId: string, id: string, userId: UserId): Promise<void> {
    const publisher = this.#table.owned(sessionId, id, userId);
    this.#drop(publisher);
    await this.rooms.publisherStopped(sessionId, publisher.feed);
  }

  /** The session ended: its publishers' handles go (the room is destroyed by whoever ended it). */
  sessionEnded(sessionId: string): void {
    for (const publisher of this.#table.take((p) => p.sessionId === sessionId)) this.#drop(publisher);
  }

  /** A Janus server was lost: its publishers' handles are gone with it. */
  serverLost(server: string): void {
    for (const publisher of this.#table.take((p) => p.server === server)) this.#drop(publisher);
  }

  /** Publishers on this instance (metrics, tests). */
  get size(): number {
    return this.#table.size;
  }

  close(): void {
    for (const publisher of this.#table.take(() => true)) this.#drop(publisher);
  }

  async #trickle(publisher: Publisher, candidates: object[], complete: boolean): Promise<void> {
    try {
      if (candidates.length) await publisher.handle.trickle(candidates);
      if (complete) await publisher.handle.trickleComplete();
    } catch (error) {
      throw badSdp(`The media server refused the candidates: ${janusReason(error)}`);
    }
  }

  #watch(publisher: Publisher): void {
    const { handle } = publisher;
    handle.once(Janode.EVENT.HANDLE_WEBRTCUP, () => {
      publisher.live = true;
      clearTimeout(publisher.timer);
      void this.rooms.publisherLive(publisher.sessionId, publisher.feed).catch((error: unknown) => {
        this.log.warn({ err: error, session: publisher.sessionId }, 'could not record the media as live');
      });
    });
    // Hang-up (DTLS alert, ICE failure, the page went away), kicked (replaced), or detached by Janus.
    const gone = () => this.#lost(publisher);
    handle.once(Janode.EVENT.HANDLE_HANGUP, gone);
    handle.once(Janode.EVENT.HANDLE_DETACHED, gone);
    handle.once(Janode.EVENT.HANDLE_ICE_FAILED, gone);
    handle.once(VideoRoomPlugin.EVENT.VIDEOROOM_KICKED as string, gone);
    publisher.timer = setTimeout(() => {
      if (!publisher.live) gone();
    }, CONNECT_TIMEOUT_MS);
    publisher.timer.unref();
  }

  /** The publisher's media went away without a DELETE: viewers hear `reconnecting`. */
  #lost(publisher: Publisher): void {
    if (publisher.closed) return;
    this.#table.remove(publisher);
    this.#drop(publisher);
    void this.rooms.publisherLost(publisher.sessionId, publisher.feed).catch((error: unknown) => {
      this.log.warn({ err: error, session: publisher.sessionId }, 'could not record the lost publisher');
    });
  }

  #drop(publisher: Publisher): void {
    clearTimeout(publisher.timer);
    this.#table.remove(publisher);
    if (publisher.close()) publisher.onGone?.();
  }

  /** Kicks every other publisher of the room, on whichever instance it was created. */
  async #replaceOthers(publisher: Publisher, roomId: number, secret: string): Promise<void> {
    for (const older of this.#table.take((p) => p.sessionId === publisher.sessionId && p !== publisher)) {
      this.#drop(older);
    }
    this.#table.add(publisher);
    try {
      const { participants } = await publisher.handle.listParticipants({ room: roomId, secret });
      for (const other of participants) {
        if (String(other.feed) !== publisher.feed && other.publisher) {
          await publisher.handle.kick({ room: roomId, feed: other.feed, secret }).catch(() => {});
        }
      }
    } catch (error) {
      this.log.warn({ err: error, session: publisher.sessionId }, 'could not replace older publishers');
    }
  }
}
