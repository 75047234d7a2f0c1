import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { CloseCode } from '../contract/close-codes.js';
import {
  sessionEndedMessage,
  type ChatEventMessage,
  type CommentMessage,
  type MediaMessage,
  type PollMessage,
  type ReactionsMessage,
  type ViewerCountMessage,
  type ViewsTotalMessage,
} from '../contract/live-protocol.js';
import type { MediaState } from '../contract/media.js';
import { POLL_TALLY_MS } from '../contract/polls.js';
import { REACTION_KINDS, REACTIONS_WINDOW_MS, type ReactionCounts } from '../contract/reactions.js';
import type { Comment, LiveSession } from '../contract/rest.js';
import type { LiveEvents } from '../live/events.js';
import type { OpenPoll } from '../live/polls.js';
import type { SocketTally } from '../metrics/metrics.js';
import type { Views } from '../live/views.js';
import type { Bus } from './bus.js';
import type { Peer } from './peer.js';
import { textFrames } from './frames.js';
import type { Presence } from './presence.js';

/**
 * What travels on a session's `live:<id>` bus channel. The first character says what it is:
 * - `F<offset> <json>`: a chat event to forward verbatim to every peer (serialized once, by the
 *   publisher); the room remembers the highest offset it delivered (see deliveredOffset);
 * - `S<offset> <json>`: the same for a chat event that changes what a joining peer opens with (a
 *   pin, the slow mode); also tells the onChatStateChanged listeners (cached facts are stale);
 * - `E<json>`: the `session_ended` frame: forward it, then close every peer with 1000;
 * - `P<hub id>`: presence or unique views changed on another instance: recount;
 * - `R<json counts>`: one instance's window of reactions: added to the room's, which its peers
 *   hear at most once per REACTIONS_WINDOW_MS (summed over every instance that sent one);
 * - `V`: votes were committed in the session's open poll: each instance reads the tallies again
 *   and sends them, at most once per POLL_TALLY_MS per room.
 */
const FRAME = 'F';
const ENDED = 'E';
const PRESENCE = 'P';
const STATE = 'S';
/** The session's video changed state (SFU mode): `{type:"media", state}` for every peer. */
const MEDIA = 'M';
const REACTIONS = 'R';
const VOTES = 'V';

/** How long due reactions wait for a flush of the chat to ride with. */
const RIDE_MS = 250;

/** How long a chat event that arrived ahead of an earlier one waits for it. */
const HOLD_MS = 200;

export interface LiveHubOptions {
  /** Smallest gap between two `viewer_count` events of one session. */
  viewerCountIntervalMs: number;
  /** How often every room recounts even without news, so a crashed instance's viewers drop out. */
  recountIntervalMs: number;
  /** Metrics: where `/ws/live` sends are counted, and the fan-out delay per batch (seconds). */
  meter?: { tally: SocketTally; fanoutDelay: { observe(seconds: number): void } };
  /** The session's open poll read afresh, after votes: its tallies for the viewers. */
  pollTallies?: (sessionId: string) => Promise<OpenPoll>;
}

/** One session's peers on this instance, and the state of its coalesced count events. */
class Room {
  readonly peers = new Set<Peer>();
  /** When this room subscribed to the bus (performance.now()): it hears every message since. */
  readonly subscribedAt = performance.now();
  unsubscribe: () => void = () => undefined;
  lastCount = -1;
  lastViews = -1;
  /** The highest views_total any peer here opened with: never broadcast less. */
  viewsFloor = -1;
  /** The offset of the last chat event this room delivered; -1 until known (seedOffset). */
  deliveredOffset = -1;
  /**
   * Chat events that arrived ahead of an earlier offset still on its way (two writers commit in
   * one order and publish in the other), held until it comes or HOLD_MS passes.
   */
  readonly early = new Map<number, { payload: Buffer; changesState: boolean }>();
  earlyTimer: NodeJS.Timeout | undefined;
  lastTickAt = 0;
  timer: NodeJS.Timeout | undefined;
  ticking = false;
  /** Messages (JSON payloads) published this event-loop turn, sent together at its end (see #flush). */
  outbox: Buffer[] = [];
  /** When the outbox's first message arrived (performance.now()). */
  outboxSince = 0;
  /** A change arrived during a tick: tick again after it. */
  again = false;
  /** This instance's presence changed since the last tick: tell the other instances. */
  announce = false;
  /** Reactions heard since the last `reactions` event, per kind; undefined when none. */
  reactions: Record<string, number> | undefined;
  reactionsTimer: NodeJS.Timeout | undefined;
  /** When the last `reactions` event went out, and when the first counts of the next arrived (performance.now()). */
  reactionsSentAt = 0;
  reactionsSince = 0;
  /** The counts are due and wait to ride with the next flush (see #sendReactions). */
  reactionsRiding = false;
  /** When the outbox was last flushed (performance.now()): a busy chat flushes often. */
  flushedAt = -Infinity;
  /** Votes were heard since the tallies were last read; when they were last sent (performance.now()). */
  votesPending = false;
  tallyTimer: NodeJS.Timeout | undefined;
  tallySentAt = 0;

  constructor(readonly sessionId: string) {}
}

/**
 * The rooms of `/ws/live`: who is watching which session on this instance, delivery of comments
 * and the end of a session to them, and `viewer_count` / `views_total` events coalesced to at
 * most one each per interval per session (the last value always delivered).
 *
 * Every message is serialized once by its publisher and turned into one Buffer per instance;
 * delivery is a loop of non-blocking sends with no await and no database work per recipient.
 */
export class LiveHub implements LiveEvents {
  readonly #rooms = new Map<string, Room>();
  readonly #hubId = crypto.randomUUID();
  readonly #recount: NodeJS.Timeout;
  readonly #endedListeners: ((sessionId: string) => void)[] = [];
  readonly #stateListeners: ((sessionId: string) => void)[] = [];
  /** Counted peers (viewers) on this instance, for the metrics. */
  #viewers = 0;

  constructor(
    private readonly bus: Bus,
    private readonly presence: Presence,
    private readonly views: Views,
    private readonly options: LiveHubOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#recount = setInterval(() => {
      for (const room of this.#rooms.values()) this.#schedule(room);
    }, options.recountIntervalMs);
    this.#recount.unref();
  }

  /** Publishes a committed comment to the session's viewers on every instance. */
  commentPosted(comment: Comment): void {
    const message: CommentMessage = { type: 'comment', ...comment };
    this.bus.publish(channelOf(comment.session_id), `${FRAME}${comment.offset} ${JSON.stringify(message)}`);
  }

  /** Publishes a committed chat event (a deletion, a pin, the settings) to every instance. */
  chatEvent(sessionId: string, message: Exclude<ChatEventMessage, CommentMessage>): void {
    const changesState = message.type !== 'comment_deleted';
    this.bus.publish(
      channelOf(sessionId),
      `${changesState ? STATE : FRAME}${message.offset} ${JSON.stringify(message)}`,
    );
  }

  /**
   * The highest chat-event offset this instance delivered to the session's room: a peer joining
   * now was sent nothing up to it, and everything after it reaches the peer through the room.
   * A replay that covers it leaves the peer no gap (see live/chat-log.ts).
   */
  deliveredOffset(sessionId: string): number {
    return Math.max(0, this.#rooms.get(sessionId)?.deliveredOffset ?? 0);
  }

  /**
   * Tells a new room the session's offset as read after it subscribed, so the first chat events
   * it hears can be put in order too.
   */
  seedOffset(sessionId: string, offset: number): void {
    const room = this.#rooms.get(sessionId);
    if (room && room.deliveredOffset < 0) room.deliveredOffset = offset;
  }

  /** Calls `listener` with the id of every session whose pin or chat settings change. */
  onChatStateChanged(listener: (sessionId: string) => void): void {
    this.#stateListeners.push(listener);
  }

  /** Hands one window of this instance's reactions to the session's rooms on every instance. */
  reactionsCounted(sessionId: string, counts: ReactionCounts): void {
    this.bus.publish(channelOf(sessionId), REACTIONS + JSON.stringify(counts));
  }

  /** Votes were committed in the session's open poll: every instance sends the tallies soon. */
  pollVoted(sessionId: string): void {
    this.bus.publish(channelOf(sessionId), VOTES);
  }

  /** Tells every peer of the session, on every instance, that its video is live, reconnecting or stopped. */
  mediaState(sessionId: string, state: MediaState): void {
    const message: MediaMessage = { type: 'media', state };
    this.bus.publish(channelOf(sessionId), MEDIA + JSON.stringify(message));
  }

  /** Tells every peer of the session, on every instance, that it ended; then closes them. */
  sessionEnded(session: LiveSession): void {
    this.bus.publish(channelOf(session.session_id), ENDED + JSON.stringify(sessionEndedMessage(session)));
  }

  /**
   * Adds a peer to its session's room. `counted` peers (non-vendors) count in `viewer_count`.
   * The caller holds the peer (Peer.hold) until its opening messages are sent. Returns when the
   * room subscribed to the bus: facts read after that moment cannot have missed the session's end.
   */
  join(sessionId: string, peer: Peer, counted: boolean): number {
    let room = this.#rooms.get(sessionId);
    if (!room) {
      const created = new Room(sessionId);
      created.unsubscribe = this.bus.subscribe(channelOf(sessionId), (m) => this.#onMessage(created, m));
      this.#rooms.set(sessionId, created);
      room = created;
    }
    room.peers.add(peer);
    if (counted) {
      this.#viewers += 1;
      this.presence.add(sessionId);
      room.announce = true;
      this.#schedule(room);
    }
    return room.subscribedAt;
  }

  /** A unique view was recorded: recount soon and tell the other instances. */
  viewsChanged(sessionId: string): void {
    const room = this.#rooms.get(sessionId);
    if (!room) return;
    room.announce = true;
    this.#schedule(room);
  }

  /**
   * The `views_total` a joining peer opens with: `total` as it read it, or what the room already
   * broadcast if that is more. It becomes the room's floor: a later read that raced an insert and
   * came back lower is not broadcast. The peer
   * is held meanwhile, dropping `views_total` frames (isViewsTotalFrame): this value supersedes them.
   */
  openingViews(sessionId: string, total: number): number {
    const room = this.#rooms.get(sessionId);
    if (!room) return total;
    // Frames still queued for this turn reach the held peer now (and are superseded there),
    // rather than after its opening.
    this.#flush(room);
    const opening = Math.max(total, room.lastViews);
    room.viewsFloor = Math.max(room.viewsFloor, opening);
    return opening;
  }

  /** Calls `listener` with the id of every session whose end this instance hears of. */
  onSessionEnded(listener: (sessionId: string) => void): void {
    this.#endedListeners.push(listener);
  }

  /** Removes a peer that went away. */
  leave(sessionId: string, peer: Peer, counted: boolean): void {
    if (counted) {
      this.#viewers -= 1;
      this.presence.remove(sessionId);
    }
    const room = this.#rooms.get(sessionId);
    if (!room || !room.peers.delete(peer)) return;
    if (room.peers.size === 0) {
      this.#drop(room);
      // The other instances still need to hear that this one has fewer viewers.
      if (counted) this.bus.publish(channelOf(sessionId), PRESENCE + this.#hubId);
      return;
    }
    if (counted) {
      room.announce = true;
      this.#schedule(room);
    }
  }

  /** Viewer connections of a session across all instances. */
  count(sessionId: string): Promise<number> {
    return this.presence.count(sessionId);
  }

  /** Rooms and viewer connections on this instance, without visiting every peer (metrics). */
  size(): { rooms: number; viewers: number } {
    return { rooms: this.#rooms.size, viewers: this.#viewers };
  }

  /** Peers on this instance and the bytes queued to them but not yet sent. */
  stats(): { rooms: number; peers: number; bufferedBytes: number } {
    let peers = 0;
    let bufferedBytes = 0;
    for (const room of this.#rooms.values()) {
      peers += room.peers.size;
      for (const peer of room.peers) bufferedBytes += peer.socket.bufferedAmount;
    }
    return { rooms: this.#rooms.size, peers, bufferedBytes };
  }

  /** Closes every peer (with `code`) and stops. */
  close(code: number = CloseCode.restarting): void {
    clearInterval(this.#recount);
    for (const room of [...this.#rooms.values()]) {
      for (const peer of room.peers) peer.close(code, 'server restarting');
      this.#drop(room);
    }
  }

  #onMessage(room: Room, message: string): void {
    switch (message[0]) {
      case FRAME:
      case STATE: {
        const space = message.indexOf(' ');
        this.#chatEvent(room, Number(message.slice(1, space)), {
          payload: Buffer.from(message.slice(space + 1)),
          changesState: message[0] === STATE,
        });
        return;
      }
      case ENDED: {
        this.#flush(room);
        const frame = Buffer.from(message.slice(1));
        for (const peer of room.peers) {
          peer.send(frame);
          peer.close(CloseCode.normal, 'session ended');
        }
        this.#drop(room);
        for (const listener of this.#endedListeners) listener(room.sessionId);
        return;
      }
      case PRESENCE:
        if (message.slice(1) !== this.#hubId) this.#schedule(room);
        return;
      case MEDIA:
        this.#broadcast(room, Buffer.from(message.slice(1)));
        return;
      case REACTIONS:
        this.#gatherReactions(room, JSON.parse(message.slice(1)) as Record<string, number>);
        return;
      case VOTES:
        room.votesPending = true;
        this.#scheduleTallies(room);
        return;
      default:
        this.log.warn({ message: message.slice(0, 40) }, 'unknown live bus message');
    }
  }

  /**
   * Queues a message for every peer of the room. The first message of an event-loop turn
   * schedules the flush; messages published in the same turn (a burst of comments) go out with it.
   */
  #broadcast(room: Room, payload: Buffer): void {
    if (room.outbox.push(payload) === 1) {
      room.outboxSince = performance.now();
      setImmediate(this.#flushLater, room);
    }
  }

  readonly #flushLater = (room: Room) => this.#flush(room);

  /**
   * Sends the room's queued messages, framed once for all peers: one write per peer. What was
   * written is counted once for the whole batch, not per peer.
   */
  #flush(room: Room): void {
    const payloads = room.outbox;
    if (payloads.length === 0) return;
    room.outbox = [];
    room.flushedAt = performance.now();
    if (room.reactionsRiding) {
      clearTimeout(room.reactionsTimer);
      room.reactionsTimer = undefined;
      room.reactionsRiding = false;
      if (room.reactions) payloads.push(this.#reactionsFrame(room));
    }
    const framed = textFrames(payloads);
    let written = 0;
    for (const peer of room.peers) written += peer.sendFramed(framed, payloads);
    const meter = this.options.meter;
    if (meter) {
      meter.tally.sent += written;
      meter.fanoutDelay.observe((performance.now() - room.outboxSince) / 1000);
    }
  }

  #schedule(room: Room): void {
    if (room.ticking) {
      room.again = true;
      return;
    }
    if (room.timer) return;
    const delay = Math.max(0, room.lastTickAt + this.options.viewerCountIntervalMs - Date.now());
    room.timer = setTimeout(() => void this.#tick(room), delay);
  }

  /** Recounts and sends what changed: at most one tick per interval per room. */
  async #tick(room: Room): Promise<void> {
    room.timer = undefined;
    room.ticking = true;
    room.lastTickAt = Date.now();
    try {
      if (room.announce) {
        room.announce = false;
        this.bus.publish(channelOf(room.sessionId), PRESENCE + this.#hubId);
      }
      const [count, views] = await Promise.all([
        this.presence.count(room.sessionId),
        this.views.total(room.sessionId),
      ]);
      if (this.#rooms.get(room.sessionId) !== room) return;
      if (count !== room.lastCount) {
        room.lastCount = count;
        const message: ViewerCountMessage = { type: 'viewer_count', count };
        this.#broadcast(room, Buffer.from(JSON.stringify(message)));
      }
      // Unique views only grow: a read that raced an insert (or another instance's) must not
      // show a smaller number than viewers already saw.
      if (views > room.lastViews && views >= room.viewsFloor) {
        room.lastViews = views;
        const message: ViewsTotalMessage = { type: 'views_total', total: views };
        this.#broadcast(room, Buffer.from(JSON.stringify(message)));
      }
    } catch (error) {
      // The database or Redis hiccuped: keep the last values; the next change or recount retries.
      this.log.warn({ err: error, sessionId: room.sessionId }, 'viewer count refresh failed');
    } finally {
      room.ticking = false;
      if (room.again) {
        room.again = false;
        this.#schedule(room);
      }
    }
  }

  /**
   * Delivers chat events in offset order: one that arrives ahead of a missing earlier offset
   * waits (at most HOLD_MS) for it, so a client never sees a later offset before an earlier one
   * and cannot resume (`?since=`) past an event it never got. Offsets are consecutive; after
   * HOLD_MS a gap is given up on (the contract allows gaps), and a straggler is still delivered.
   */
  #chatEvent(room: Room, offset: number, event: { payload: Buffer; changesState: boolean }): void {
    const last = room.deliveredOffset;
    if (last >= 0 && offset > last + 1) {
      room.early.set(offset, event);
      room.earlyTimer ??= setTimeout(() => this.#giveUpWaiting(room), HOLD_MS);
      return;
    }
    this.#deliver(room, offset, event);
    for (let next = room.deliveredOffset + 1; room.early.has(next); next++) {
      const held = room.early.get(next);
      room.early.delete(next);
      if (held) this.#deliver(room, next, held);
    }
    if (room.early.size === 0 && room.earlyTimer) {
      clearTimeout(room.earlyTimer);
      room.earlyTimer = undefined;
    }
  }

  #giveUpWaiting(room: Room): void {
    room.earlyTimer = undefined;
    for (const offset of [...room.early.keys()].sort((a, b) => a - b)) {
      const held = room.early.get(offset);
      room.early.delete(offset);
      if (held) this.#deliver(room, offset, held);
    }
  }

  #deliver(
    room: Room,
    offset: number,
    { payload, changesState }: { payload: Buffer; changesState: boolean },
  ): void {
    room.deliveredOffset = Math.max(room.deliveredOffset, offset);
    this.#broadcast(room, payload);
    if (changesState) for (const listener of this.#stateListeners) listener(room.sessionId);
  }

  /**
   * Adds a window of reactions to the room's and schedules its event: at once when the last one
   * went out at least REACTIONS_WINDOW_MS ago, otherwise when that much time has passed, so a
   * peer hears at most one `reactions` event per window however many instances and taps feed it.
   */
  #gatherReactions(room: Room, counts: Record<string, number>): void {
    if (!room.reactions) {
      room.reactions = {};
      room.reactionsSince = performance.now();
    }
    for (const kind of REACTION_KINDS) {
      const n = counts[kind];
      if (typeof n === 'number' && n > 0) room.reactions[kind] = (room.reactions[kind] ?? 0) + n;
    }
    if (room.reactionsTimer) return;
    const wait = Math.max(0, room.reactionsSentAt + REACTIONS_WINDOW_MS - performance.now());
    room.reactionsTimer = setTimeout(this.#sendReactions, wait, room);
  }

  /**
   * The window's counts are due. In a busy chat (a flush within RIDE_MS) they ride with the next
   * flush, in the same write to each peer as its comments, rather than costing every peer a
   * write of their own; at most RIDE_MS later, or alone when no flush comes by then.
   */
  readonly #sendReactions = (room: Room): void => {
    room.reactionsTimer = undefined;
    if (!room.reactions) return;
    if (room.outbox.length === 0 && performance.now() - room.flushedAt < RIDE_MS) {
      room.reactionsRiding = true;
      room.reactionsTimer = setTimeout(this.#sendReactionsAlone, RIDE_MS, room);
      return;
    }
    this.#broadcast(room, this.#reactionsFrame(room));
  };

  readonly #sendReactionsAlone = (room: Room): void => {
    room.reactionsTimer = undefined;
    room.reactionsRiding = false;
    if (room.reactions) this.#broadcast(room, this.#reactionsFrame(room));
  };

  /** The `reactions` event of what was gathered, now: the window starts again. */
  #reactionsFrame(room: Room): Buffer {
    const counts = room.reactions ?? {};
    room.reactions = undefined;
    const now = performance.now();
    // The window these counts cover: since the last event when taps kept coming, else since they began.
    const since =
      now - room.reactionsSentAt <= 2 * REACTIONS_WINDOW_MS ? room.reactionsSentAt : room.reactionsSince;
    room.reactionsSentAt = now;
    const message: ReactionsMessage = { type: 'reactions', counts, window_ms: Math.round(now - since) };
    return Buffer.from(JSON.stringify(message));
  }

  /** Reads and sends the tallies once POLL_TALLY_MS has passed since the last were sent. */
  #scheduleTallies(room: Room): void {
    if (room.tallyTimer || !this.options.pollTallies) return;
    const wait = Math.max(0, room.tallySentAt + POLL_TALLY_MS - performance.now());
    room.tallyTimer = setTimeout(() => void this.#sendTallies(room), wait);
  }

  /**
   * Sends the open poll's tallies as read after the votes were heard. A read that an event it
   * did not see overtook (a delivered offset past the read's: maybe the poll's closing) is not
   * sent, and read again a window later, so a closed poll never shows as open again.
   */
  async #sendTallies(room: Room): Promise<void> {
    room.votesPending = false;
    room.tallySentAt = performance.now();
    try {
      const { poll, offset } = await this.options.pollTallies!(room.sessionId);
      if (this.#rooms.get(room.sessionId) !== room || !poll || poll.status !== 'open') return;
      if (room.deliveredOffset > offset) room.votesPending = true;
      else this.#broadcast(room, Buffer.from(JSON.stringify({ type: 'poll', poll } satisfies PollMessage)));
    } catch (error) {
      this.log.warn({ err: error, session: room.sessionId }, 'could not read the poll tallies');
    } finally {
      room.tallyTimer = undefined;
      if (room.votesPending && this.#rooms.get(room.sessionId) === room) this.#scheduleTallies(room);
    }
  }

  #drop(room: Room): void {
    if (room.tallyTimer) clearTimeout(room.tallyTimer);
    if (room.reactionsTimer) clearTimeout(room.reactionsTimer);
    if (room.earlyTimer) clearTimeout(room.earlyTimer);
    if (room.timer) clearTimeout(room.timer);
    room.timer = undefined;
    room.unsubscribe();
    if (this.#rooms.get(room.sessionId) === room) this.#rooms.delete(room.sessionId);
  }
}

const VIEWS_TOTAL_PREFIX = Buffer.from('{"type":"views_total"');

/** True for the `views_total` frames this hub broadcasts (they start with that exact prefix). */
export function isViewsTotalFrame(data: Buffer | string): boolean {
  return typeof data === 'string'
    ? data.startsWith('{"type":"views_total"')
    : data.subarray(0, VIEWS_TOTAL_PREFIX.length).equals(VIEWS_TOTAL_PREFIX);
}

function channelOf(sessionId: string): string {
  return `live:${sessionId}`;
}

/** The `"type"` openings of every event that carries an offset (ChatEventMessage). */
const CHAT_EVENT_PREFIXES = [
  'comment',
  'comment_deleted',
  'comment_pinned',
  'comment_unpinned',
  'chat_settings',
  'poll',
].map((type) => `{"type":"${type}",`);

/**
 * The offset of a chat-event frame, or undefined for any other frame. Parses the frame: meant
 * for a recovering peer's few held frames, never for the fan-out.
 */
export function offsetOfFrame(data: Buffer | string): number | undefined {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  if (!CHAT_EVENT_PREFIXES.some((prefix) => text.startsWith(prefix))) return undefined;
  const offset = (JSON.parse(text) as { offset?: unknown }).offset;
  return typeof offset === 'number' ? offset : undefined;
}
