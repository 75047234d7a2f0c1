import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, UserId } from '../db/schema.js';
import { invalid, notFound, sessionEnded, unauthorized } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import { MAX_COMMENT_LENGTH } from '../contract/limits.js';
import type { Comment } from '../contract/rest.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { unstorableText } from '../db/storable-text.js';
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
    private readonly gate?: CommentGate,
  ) {}

  /**
   * Stores a comment and, once it is committed, hands it to the realtime layer. The message is
   * trimmed and must then hold 1–1000 characters (Unicode code points, as the original counted).
   * 404 for an unknown session, 409 for an ended one.
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
    // One statement checks liveness and inserts. FOR SHARE makes it wait for an end in progress
    // and then see is_live = false, and makes an end wait for it: so no comment is stored after
    // its session ended, and the end (Sessions.end) sees every comment stored before it.
    const row = await this.db
      .insertInto('comments')
      .columns(['session_id', 'user_id', 'message', 'created_at'])
      .expression((eb) =>
        eb
          .selectFrom('live_sessions')
          .select([
            'id',
            sql<UserId>`${author.id}`.as('user_id'),
            sql<string>`${message}`.as('message'),
            sql<Date>`${new Date(this.clock.now())}::timestamptz`.as('created_at'),
          ])
          .where('id', '=', sessionId)
          .where('is_live', '=', true)
          .forShare(),
      )
      .returning(['id', 'created_at'])
      .executeTakeFirst()
      .catch((error: unknown) => {
        // The session was just found by the same statement, so the missing row is the author.
        throw isForeignKeyViolation(error) ? unauthorized('User no longer exists') : error;
      });
    if (!row) {
      const exists = await this.db
        .selectFrom('live_sessions')
        .select('id')
        .where('id', '=', sessionId)
        .executeTakeFirst();
      throw exists ? sessionEnded('Session has ended; comments are closed') : notFound('Session not found');
    }
    const comment: Comment = {
      id: row.id,
      session_id: sessionId,
      user_id: author.id,
      user_name: author.name,
      message,
      ts: row.created_at.toISOString(),
    };
    this.events.commentPosted(comment);
    return comment;
  }

  /**
   * The newest `limit` comments of a session in chronological order; with `before`, the ones
   * posted before that comment. 404 for an unknown session.
   */
  async list(sessionId: string, limit: number, before?: string): Promise<Comment[]> {
    const session = isSessionId(sessionId)
      ? await this.db.selectFrom('live_sessions').select('id').where('id', '=', sessionId).executeTakeFirst()
      : undefined;
    if (!session) throw notFound('Session not found');
    let query = this.db
      .selectFrom('comments as c')
      .innerJoin('users as u', 'u.id', 'c.user_id')
      .select(['c.id', 'c.session_id', 'c.user_id', 'u.name as user_name', 'c.message', 'c.created_at'])
      .where('c.session_id', '=', sessionId);
    if (before !== undefined) {
      if (!isSessionId(before)) return [];
      query = query.where('c.seq', '<', (eb) =>
        eb.selectFrom('comments').select('seq').where('id', '=', before).where('session_id', '=', sessionId),
      );
    }
    const rows = await query.orderBy('c.seq', 'desc').limit(limit).execute();
    return rows.reverse().map((r) => ({
      id: r.id,
      session_id: r.session_id,
      user_id: r.user_id,
      user_name: r.user_name,
      message: r.message,
      ts: r.created_at.toISOString(),
    }));
  }
}
