import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, UserId } from '../db/schema.js';
import { DomainError, invalid, notFound, sessionEnded, unauthorized } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import { MAX_COMMENT_LENGTH } from '../contract/limits.js';
import type { Comment } from '../contract/rest.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { unstorableText } from '../db/storable-text.js';
import { findBlockedTerm } from './blocked-terms.js';
import type { ChatLog } from './chat-log.js';
import type { LiveEvents } from './events.js';

export type { Comment };

/**
 * What may refuse a comment before it is stored: the per-user budget (limits/comment-budget.ts)
 * throws `rate_limited`. REST and WebSocket post through the same Comments, so through the same gate.
 */
export interface CommentGate {
  check(author: UserId): Promise<void>;
}

/** Characters as people count them (and PostgreSQL's char_length): code points, not UTF-16 units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Posting and reading comments of live sessions. */
export class Comments {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: LiveEvents,
    private readonly clock: Clock,
    private readonly log: ChatLog,
    private readonly gate?: CommentGate,
  ) {}

  /**
   * Stores a comment and, once it is committed, hands it to the realtime layer. The message is
   * trimmed and must then hold 1–1000 characters (Unicode code points, as the original counted).
   * The chat's rules apply: the author may not be banned from the vendor's chat, must respect
   * slow mode (vendor and moderators exempt) and may not use a blocked term. 404 for an unknown
   * session, 409 for an ended one.
   */
  async post(sessionId: string, author: { id: UserId; name: string }, rawMessage: string): Promise<Comment> {
    // Every attempt counts against the budget, valid or not: it protects the database and the
    // viewers' screens alike.
    await this.gate?.check(author.id);
    const message = rawMessage.trim();
    if (message.length === 0)
      throw invalid(['body', 'message'], 'message must not be blank', 'string_too_short');
    if (characterCount(message) > MAX_COMMENT_LENGTH) {
      throw invalid(
        ['body', 'message'],
        `message must be at most ${MAX_COMMENT_LENGTH} characters`,
        'string_too_long',
      );
    }
    const unstorable = unstorableText(message);
    if (unstorable) throw invalid(['body', 'message'], `message ${unstorable}`);
    if (!isSessionId(sessionId)) throw notFound('Session not found');

    const now = new Date(this.clock.now());
    const { message: posted } = await this.db
      .transaction()
      .execute(async (trx) => {
        // One statement takes the session row's lock (ordering this comment among the session's
        // events, and making an end in progress finish first: then is_live is false) and the next
        // offset, and reads the chat's rules for this author.
        const chat = await trx
          .updateTable('live_sessions as s')
          .set({ last_offset: sql<number>`s.last_offset + 1` })
          .where('s.id', '=', sessionId)
          .where('s.is_live', '=', true)
          .returning((eb) => [
            's.last_offset',
            's.vendor_id',
            's.slow_mode_seconds',
            eb
              .selectFrom('bans as b')
              .select(sql<boolean>`true`.as('banned'))
              .whereRef('b.vendor_id', '=', 's.vendor_id')
              .where('b.user_id', '=', author.id)
              .where((w) => w.or([w('b.until', 'is', null), w('b.until', '>', now)]))
              .as('banned'),
            eb
              .selectFrom('bans as b')
              .select('b.until')
              .whereRef('b.vendor_id', '=', 's.vendor_id')
              .where('b.user_id', '=', author.id)
              .as('banned_until'),
            eb
              .selectFrom('moderators as m')
              .select(sql<boolean>`true`.as('moderator'))
              .whereRef('m.vendor_id', '=', 's.vendor_id')
              .where('m.user_id', '=', author.id)
              .as('moderator'),
            eb
              .selectFrom('blocked_terms as t')
              .select(sql<string[]>`coalesce(array_agg(t.term), '{}')`.as('terms'))
              .whereRef('t.vendor_id', '=', 's.vendor_id')
              .as('blocked_terms'),
          ])
          .executeTakeFirst();
        if (!chat) {
          const exists = await trx
            .selectFrom('live_sessions')
            .select('id')
            .where('id', '=', sessionId)
            .executeTakeFirst();
          throw exists
            ? sessionEnded('Session has ended; comments are closed')
            : notFound('Session not found');
        }
        if (chat.banned) throw banned(chat.banned_until);
        if (findBlockedTerm(message, chat.blocked_terms ?? [])) {
          throw new DomainError(
            'blocked_term',
            'This comment contains a word or phrase the host does not allow; it was not posted',
            { field: ['body', 'message'] },
          );
        }
        const exempt = chat.moderator || String(chat.vendor_id) === String(author.id);
        if (!exempt && chat.slow_mode_seconds > 0) {
          // Read after the lock, in a statement of its own: the one that waited for the lock
          // reads the rest from its older snapshot, and could miss this author's comment in a
          // second tab that held the lock.
          const { last } = await trx
            .selectFrom('comments')
            .select((c) => c.fn.max('created_at').as('last'))
            .where('session_id', '=', sessionId)
            .where('user_id', '=', author.id)
            .executeTakeFirstOrThrow();
          const waitMs = last ? last.getTime() + chat.slow_mode_seconds * 1000 - now.getTime() : 0;
          if (waitMs > 0) throw slowMode(chat.slow_mode_seconds, waitMs);
        }
        const posted = {
          type: 'comment' as const,
          id: randomUUID(),
          session_id: sessionId,
          user_id: author.id,
          user_name: author.name,
          message,
          ts: now.toISOString(),
          offset: chat.last_offset,
        };
        // The comment and its chat event in one statement.
        const event = this.log.eventRow(sessionId, posted);
        await trx
          .with('comment', (db) =>
            db.insertInto('comments').values({
              id: posted.id,
              session_id: sessionId,
              user_id: author.id,
              message,
              created_at: now,
              event_offset: posted.offset,
            }),
          )
          .insertInto('chat_events')
          .values(event)
          .execute();
        return { message: posted };
      })
      .catch((error: unknown) => {
        // The session was just found, so a missing referenced row is the author.
        throw isForeignKeyViolation(error) ? unauthorized('User no longer exists') : error;
      });
    const { type: _type, ...comment } = posted;
    this.events.commentPosted(comment);
    return comment;
  }

  /**
   * The newest `limit` comments of a session in chronological order; with `before`, the ones
   * posted before that comment; with `after` (an offset), the first `limit` after it. Deleted
   * comments are left out. 404 for an unknown session.
   */
  async list(
    sessionId: string,
    limit: number,
    page: { before?: string | undefined; after?: number | undefined } = {},
  ): Promise<Comment[]> {
    const session = isSessionId(sessionId)
      ? await this.db.selectFrom('live_sessions').select('id').where('id', '=', sessionId).executeTakeFirst()
      : undefined;
    if (!session) throw notFound('Session not found');
    let query = this.db
      .selectFrom('comments as c')
      .innerJoin('users as u', 'u.id', 'c.user_id')
      .select(COMMENT_COLUMNS)
      .where('c.session_id', '=', sessionId)
      .where('c.deleted_at', 'is', null);
    if (page.after !== undefined) {
      const rows = await query
        .where('c.event_offset', '>', page.after)
        .orderBy('c.event_offset')
        .limit(limit)
        .execute();
      return rows.map(toComment);
    }
    if (page.before !== undefined) {
      const before = page.before;
      if (!isSessionId(before)) return [];
      query = query.where('c.seq', '<', (eb) =>
        eb.selectFrom('comments').select('seq').where('id', '=', before).where('session_id', '=', sessionId),
      );
    }
    const rows = await query.orderBy('c.seq', 'desc').limit(limit).execute();
    return rows.reverse().map(toComment);
  }
}

/** What toComment needs, selected from `comments as c` joined with `users as u`. */
export const COMMENT_COLUMNS = [
  'c.id',
  'c.session_id',
  'c.user_id',
  'u.name as user_name',
  'c.message',
  'c.created_at',
  'c.event_offset',
] as const;

/** A comment row (joined with its author's name) as the API shows it. */
export function toComment(row: {
  id: string;
  session_id: string;
  user_id: UserId;
  user_name: string;
  message: string;
  created_at: Date;
  event_offset: number;
}): Comment {
  return {
    id: row.id,
    session_id: row.session_id,
    user_id: row.user_id,
    user_name: row.user_name,
    message: row.message,
    ts: row.created_at.toISOString(),
    offset: row.event_offset,
  };
}

/** Banned from the vendor's chat: until when, in the detail and for the WebSocket's `until`. */
function banned(until: Date | null): DomainError {
  const iso = until ? until.toISOString() : null;
  const detail = iso
    ? `You are banned from this chat until ${iso}`
    : 'You are banned from this chat until the host lifts the ban';
  return new DomainError('banned', detail, { until: iso });
}

function slowMode(seconds: number, waitMs: number): DomainError {
  const wait = Math.max(1, Math.ceil(waitMs / 1000));
  return new DomainError(
    'slow_mode',
    `Slow mode is on (one comment every ${seconds} s); you can comment again in ${wait} s`,
    { retryAfterMs: waitMs },
  );
}
