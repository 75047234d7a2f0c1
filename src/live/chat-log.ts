import { sql, type Kysely, type Transaction } from 'kysely';
import type { ChatEventMessage } from '../contract/live-protocol.js';
import type { Database } from '../db/schema.js';

/** Most events a reconnecting client is replayed; more missed, and it reloads over REST. */
export const MAX_REPLAY = 500;

interface RecentRead {
  /** When the read started (the clock of `joined.at`). */
  startedAt: number;
  reading: Promise<Replay>;
}

/** How long a finished read may serve callers that follow it. */
const REUSE_MS = 2_000;

/** What a reconnecting client missed since an offset. */
export type Replay =
  { complete: true; frames: string[]; offset: number } | { complete: false; offset: number };

/**
 * The chat log of every session: each comment and chat event gets the session's next offset and
 * its frame is kept as sent, so a client that reconnects with `?since=<offset>` is replayed what
 * it missed, in order, from the database; only a deleted comment's text and author are taken out
 * of it (`redact`).
 *
 * Offsets follow commit order: `append` takes them from `live_sessions.last_offset` under the
 * session row's lock inside the caller's transaction, so a later offset is never committed
 * before an earlier one.
 */
export class ChatLog {
  /** Per session and offset: the latest read, running or just finished. */
  readonly #recent = new Map<string, RecentRead>();

  constructor(
    private readonly db: Kysely<Database>,
    /** The clock of `joined.at`: performance.now(), as the hubs'. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Takes the session's next offset, lets `build` make the event with it (a comment inserts its
   * row there), and records the event's frame; all in `trx`, which takes the session row's lock
   * here if it does not hold it yet. Returns the event and its frame, to publish once committed.
   */
  async append<E extends ChatEventMessage>(
    trx: Transaction<Database>,
    sessionId: string,
    build: (offset: number) => E | Promise<E>,
  ): Promise<{ message: E; frame: string }> {
    const { last_offset: offset } = await trx
      .updateTable('live_sessions')
      .set({ last_offset: sql<number>`last_offset + 1` })
      .where('id', '=', sessionId)
      .returning('last_offset')
      .executeTakeFirstOrThrow();
    const message = await build(offset);
    const row = this.eventRow(sessionId, message);
    await trx.insertInto('chat_events').values(row).execute();
    return { message, frame: row.frame };
  }

  /**
   * The `chat_events` row of an event whose offset the caller took (a comment takes it with the
   * lock, and inserts this row in the statement that inserts the comment).
   */
  eventRow(sessionId: string, message: ChatEventMessage) {
    return {
      session_id: sessionId,
      event_offset: message.offset,
      type: message.type,
      frame: JSON.stringify(message),
    };
  }

  /**
   * Rewrites what the log holds about comments just deleted (in the deleting transaction), so that
   * no replay carries their text or author: each comment's own event becomes its deletion, and
   * each pin of one becomes an unpin (deleting a pinned comment unpins it). A client replaying
   * from before either then ends where a live viewer is: the comment gone, and its later deletion
   * (and unpin) at their own offsets a harmless repeat. Offsets stay as they were, without gaps.
   */
  async redact(
    trx: Transaction<Database>,
    sessionId: string,
    comments: readonly { id: string; event_offset: number }[],
  ): Promise<void> {
    if (comments.length === 0) return;
    // Found by offset (the key), not by reading every frame of the session; the frames are the
    // bytes JSON.stringify writes for CommentDeletedMessage and CommentUnpinnedMessage.
    await trx
      .updateTable('chat_events')
      .set({
        type: 'comment_deleted',
        frame: sql<string>`'{"type":"comment_deleted","id":' || to_json(frame::json->>'id')::text || ',"offset":' || event_offset || '}'`,
      })
      .where('session_id', '=', sessionId)
      .where(
        'event_offset',
        'in',
        comments.map((c) => c.event_offset),
      )
      .where('type', '=', 'comment')
      .execute();
    await trx
      .updateTable('chat_events')
      .set({
        type: 'comment_unpinned',
        frame: sql<string>`'{"type":"comment_unpinned","offset":' || event_offset || '}'`,
      })
      .where('session_id', '=', sessionId)
      .where('type', '=', 'comment_pinned')
      .where(
        sql<string>`frame::json->'comment'->>'id'`,
        'in',
        comments.map((c) => c.id),
      )
      .execute();
  }

  /**
   * The frames of every event after `since`, in order. `complete: false` when more than
   * MAX_REPLAY were missed or `since` is an offset the session never had (0 always exists: the
   * start).
   *
   * A reconnect storm (a thousand viewers back from one blip) shares reads: a caller may use a
   * read of the same session and offset that started after it joined its room (`joinedAt`), or
   * any complete one that reaches `covers`, the highest offset its room had delivered when it
   * joined. Either way nothing it was not sent is missing from the replay: events are numbered
   * in commit order, so a read whose last offset is at least `covers` holds every event up to it.
   */
  async replay(sessionId: string, since: number, joined: { at: number; covers: number }): Promise<Replay> {
    const key = `${sessionId}:${since}`;
    let entry = this.#recent.get(key);
    while (entry) {
      if (entry.startedAt >= joined.at) return entry.reading;
      const result = await entry.reading.catch(() => undefined);
      if (result?.complete && result.offset >= joined.covers) return result;
      const latest = this.#recent.get(key);
      entry = latest === entry ? undefined : latest;
    }
    return this.#start(key, sessionId, since);
  }

  /** Starts a read, kept a moment for the callers that follow it. */
  #start(key: string, sessionId: string, since: number): Promise<Replay> {
    const entry: RecentRead = { startedAt: this.now(), reading: this.#read(sessionId, since) };
    this.#recent.set(key, entry);
    const forget = () => {
      if (this.#recent.get(key) === entry) this.#recent.delete(key);
    };
    entry.reading.then(() => setTimeout(forget, REUSE_MS).unref(), forget);
    return entry.reading;
  }

  async #read(sessionId: string, since: number): Promise<Replay> {
    const incomplete: Replay = { complete: false, offset: since };
    if (!Number.isSafeInteger(since) || since < 0) return incomplete;
    // The event at `since` itself comes first when it exists: it proves the offset is known.
    const rows = await this.db
      .selectFrom('chat_events')
      .select(['event_offset', 'frame'])
      .where('session_id', '=', sessionId)
      .where('event_offset', '>=', since)
      .orderBy('event_offset')
      .limit(MAX_REPLAY + 2)
      .execute();
    const known = since === 0 || rows[0]?.event_offset === since;
    const missed = rows.filter((row) => row.event_offset > since);
    if (!known || missed.length > MAX_REPLAY) return incomplete;
    return {
      complete: true,
      frames: missed.map((row) => row.frame),
      offset: missed.at(-1)?.event_offset ?? since,
    };
  }
}
