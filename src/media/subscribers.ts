import Janode from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle } from 'janode/plugins/videoroom';
import { badSdp, DomainError, invalid } from '../contract/errors.js';
import type { UserId } from '../db/schema.js';
import type { JanusPool } from './janus-pool.js';
import { isWildcard, janusReason, MediaResource, ResourceTable, type IfMatch } from './resource.js';
import type { MediaRooms } from './rooms.js';
import { checkSessionDescription, parseFragment } from './sdp.js';

/** A WHEP session: one viewer's subscription to the session's publisher. */
class Subscriber extends MediaResource {
  answered = false;
  timer: NodeJS.Timeout | undefined;

  constructor(sessionId: string, userId: UserId, server: string, handle: VideoRoomHandle) {
    super(sessionId, userId, server, handle);
  }
}

/** What a subscribe answers: the WHEP resource and Janus's offer (the counter-offer). */
export interface Subscribed {
  resourceId: string;
  etag: string;
  offer: string;
}

/** A subscription whose answer has not come by then is dropped. */
const ANSWER_TIMEOUT_MS = 30_000;
/** One user's subscriptions per session at once; a newer one closes the oldest. */
const MAX_PER_USER = 4;

/**
 * WHEP playback from Janus's VideoRoom. Janus 1.1's VideoRoom makes the subscriber's offer, so a
 * subscription is two steps: `subscribe` (Janus's offer, which the route sends as a 406 counter-
 * offer) and `answer` (the player's answer, PATCHed). The caller checks who may watch.
 */
export class Subscribers {
  readonly #table = new ResourceTable<Subscriber>('WHEP');

  constructor(
    private readonly pool: JanusPool,
    private readonly rooms: MediaRooms,
  ) {}

  /** Joins the session's current publisher; `not_publishing` while there is none. */
  async subscribe(sessionId: string, userId: UserId): Promise<Subscribed> {
    const room = await this.rooms.get(sessionId);
    if (!room?.publisher || !this.pool.isReachable(room.server)) {
      throw new DomainError(
        'not_publishing',
        'The host is not sending video yet; subscribe when /ws/live says {"type":"media","state":"live"}',
      );
    }
    const handle = await this.pool.session(room.server).attach(VideoRoomPlugin);
    const subscriber = new Subscriber(sessionId, userId, room.server, handle);
    let offer: string | undefined;
    try {
      const joined = await handle.joinSubscriber({
        room: room.roomId,
        streams: [{ feed: Number(room.publisher) }],
      });
      offer = joined.jsep?.sdp;
      if (!offer) throw new Error('Janus sent no offer');
    } catch (error) {
      subscriber.close();
      throw new DomainError('not_publishing', `The host's video is not available: ${janusReason(error)}`);
    }
    this.#limit(sessionId, userId);
    this.#watch(subscriber);
    this.#table.add(subscriber);
    return { resourceId: subscriber.id, etag: subscriber.etag, offer };
  }

  /** The player's SDP answer to Janus's offer: media starts flowing. */
  async answer(sessionId: string, id: string, userId: UserId, sdp: string): Promise<void> {
    const subscriber = this.#table.owned(sessionId, id, userId);
    const answer = checkSessionDescription(sdp, 'answer');
    if (subscriber.answered) throw invalid(['body'], 'This WHEP resource already has its answer');
    try {
      await subscriber.handle.start({ jsep: { type: 'answer', sdp: answer } });
    } catch (error) {
      throw badSdp(`The media server refused the answer: ${janusReason(error)}`);
    }
    subscriber.answered = true;
    clearTimeout(subscriber.timer);
  }

  /** A trickle PATCH. WHEP ICE restarts are not supported (Janus would need a new offer). */
  async trickle(
    sessionId: string,
    id: string,
    userId: UserId,
    body: string,
    ifMatch: IfMatch,
  ): Promise<void> {
    const subscriber = this.#table.owned(sessionId, id, userId);
    if (isWildcard(ifMatch)) {
      throw new DomainError('precondition_failed', 'ICE restarts are not supported on WHEP: subscribe again');
    }
    if (!subscriber.matches(ifMatch)) {
      throw new DomainError(
        'precondition_failed',
        `If-Match does not name this resource's ETag ${subscriber.etag}`,
      );
    }
    const fragment = parseFragment(body);
    try {
      if (fragment.candidates.length) await subscriber.handle.trickle(fragment.candidates);
      if (fragment.complete) await subscriber.handle.trickleComplete();
    } catch (error) {
      throw badSdp(`The media server refused the candidates: ${janusReason(error)}`);
    }
  }

  /** WHEP DELETE: the viewer leaves. */
  stop(sessionId: string, id: string, userId: UserId): void {
    this.#drop(this.#table.owned(sessionId, id, userId));
  }

  sessionEnded(sessionId: string): void {
    for (const subscriber of this.#table.take((s) => s.sessionId === sessionId)) this.#drop(subscriber);
  }

  serverLost(server: string): void {
    for (const subscriber of this.#table.take((s) => s.server === server)) this.#drop(subscriber);
  }

  get size(): number {
    return this.#table.size;
  }

  close(): void {
    for (const subscriber of this.#table.take(() => true)) this.#drop(subscriber);
  }

  /** Closes the user's oldest subscriptions to the session beyond MAX_PER_USER - 1. */
  #limit(sessionId: string, userId: UserId): void {
    const mine = this.#table
      .all()
      .filter((s) => s.sessionId === sessionId && String(s.userId) === String(userId));
    for (const old of mine.slice(0, Math.max(0, mine.length - (MAX_PER_USER - 1)))) this.#drop(old);
  }

  #watch(subscriber: Subscriber): void {
    const gone = () => this.#drop(subscriber);
    // The player went away, or its publisher left (Janus hangs the subscription up).
    subscriber.handle.once(Janode.EVENT.HANDLE_HANGUP, gone);
    subscriber.handle.once(Janode.EVENT.HANDLE_DETACHED, gone);
    subscriber.handle.once(Janode.EVENT.HANDLE_ICE_FAILED, gone);
    subscriber.timer = setTimeout(() => {
      if (!subscriber.answered) gone();
    }, ANSWER_TIMEOUT_MS);
    subscriber.timer.unref();
  }

  #drop(subscriber: Subscriber): void {
    clearTimeout(subscriber.timer);
    this.#table.remove(subscriber);
    subscriber.close();
  }
}
