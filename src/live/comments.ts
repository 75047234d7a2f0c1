import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, UserId } from '../db/schema.js';
import { DomainError, invalid, notFound, sessionEnded, unauthorized } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import { characterCount, MAX_COMMENT_LENGTH } from '../contract/limits.js';
import type { CommentMessage } from '../contract/live-protocol.js';
import type { Comment } from '../contract/rest.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { unstorableText } from '../db/storable-text.js';
import { findFoldedTerm } from './blocked-terms.js';
import type { ChatLog } from './chat-log.js';
import { Batches } from './batches.js';
import { ChatRules, type VendorRules } from './chat-rules.js';
import type { LiveEvents } from './events.js';

export type { Comment };

/**
 * What may refuse a comment before it is stored: the per-user budget (limits/user-budget.ts)
 * throws `rate_limited`. REST and WebSocket post through the same Comments, so through the same gate.
 */
export interface CommentGate {
  check(author: UserId): Promise<void>;
}

/** A comment that passed the checks needing no database, waiting for its session's batch. */
interface PendingComment {
  author: { id: UserId; name: string };
  message: string;
  /** Set once accepted into a batch. */
  id?: string;
  resolve(comment: Comment): void;
  reject(error: unknown): void;
}

/**
 * Posting and reading comments of live sessions. Comments of one session that arrive together
 * are written together (batches.ts): one transaction and one lock per batch, not per comment.
 */
export class Comments {
  readonly #batches: Batches<PendingComment>;
  readonly #rules: ChatRules;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: LiveEvents,
    private readonly clock: Clock,
    private readonly log: ChatLog,
    private readonly gate?: CommentGate,
  ) {
    this.#batches = new Batches((sessionId, batch) => this.#write(sessionId, batch));
    this.#rules = new ChatRules();
  }

  /**
   * Stores a comment and, once it is committed, hands it to the realtime layer. The message is
   * trimmed and must then hold 1–1000 characters (Unicode code points, as the original counted).
   * The chat's rules apply: the author may not be banned from the vendor's chat, must respect
   * slow mode (vendor and moderators exempt) and may not use a blocked term. 404 for an unknown
   * session, 409 for an ended one. Resolves once the comment is committed.
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

    return new Promise<Comment>((resolve, reject) =>
      this.#batches.add(sessionId, { author, message, resolve, reject }),
    );
  }

  /**
   * Writes one batch of a session's comments in one transaction: the session row's lock (which
   * orders them among the session's events and makes an end in progress finish first), the
   * chat's rules for these authors in the same statement, then the accepted comments and their
   * chat events with a block of offsets in one statement. Each settles once committed (or
   * refused), and the accepted reach the realtime layer in offset order.
   */
  async #write(sessionId: string, batch: PendingComment[]): Promise<void> {
    const now = new Date(this.clock.now());
    let accepted: CommentMessage[];
    try {
      accepted = await this.db.transaction().execute(async (trx) => {
        const chat = await lockChat(trx, sessionId, batch.length, this.#rules, now);
        const lastAt = await lastCommentTimes(trx, sessionId, batch, chat);
        const messages: CommentMessage[] = [];
        for (const pending of batch) {
          const refusal = refusalOf(pending, chat, lastAt, now);
          if (refusal) {
            pending.reject(refusal);
            continue;
          }
          lastAt.set(String(pending.author.id), now);
          messages.push(this.#message(sessionId, pending, now, chat.base + messages.length + 1));
        }
        await this.#insert(trx, sessionId, messages, chat);
        return messages;
      });
    } catch (error) {
      // A missing referenced row is an author deleted meanwhile: each alone finds out which.
      if (isForeignKeyViolation(error) && batch.length > 1) {
        for (const pending of batch) {
          await this.#write(sessionId, [pending]).catch((single: unknown) => pending.reject(single));
        }
        return;
      }
      throw isForeignKeyViolation(error) ? unauthorized('User no longer exists') : error;
    }
    const byMessage = new Map(accepted.map((m) => [m.id, m]));
    for (const pending of batch) {
      const posted = pending.id ? byMessage.get(pending.id) : undefined;
      if (!posted) continue;
      const { type: _type, ...comment } = posted;
      pending.resolve(comment);
      this.events.commentPosted(comment);
    }
  }

  #message(sessionId: string, pending: PendingComment, now: Date, offset: number): CommentMessage {
    pending.id = randomUUID();
    return {
      type: 'comment',
      id: pending.id,
      session_id: sessionId,
      user_id: pending.author.id,
      user_name: pending.author.name,
      message: pending.message,
      ts: now.toISOString(),
      offset,
    };
  }

  /**
   * The comments and their chat events, in one statement, giving back the offsets of those
   * refused (only then: the common batch is all accepted).
   */
  async #insert(
    trx: Transaction<Database>,
    sessionId: string,
    messages: CommentMessage[],
    chat: LockedChat,
  ): Promise<void> {
    const giveBack = () =>
      trx
        .updateTable('live_sessions')
        .set({ last_offset: chat.base + messages.length })
        .where('id', '=', sessionId);
    if (messages.length === 0) {
      await giveBack().execute();
      return;
    }
    const comments = messages.map((m) => ({
      id: m.id,
      session_id: sessionId,
      user_id: m.user_id,
      message: m.message,
      created_at: new Date(m.ts),
      event_offset: m.offset,
    }));
    const events = messages.map((m) => this.log.eventRow(sessionId, m));
    if (messages.length === chat.taken) {
      await trx
        .with('comment', (db) => db.insertInto('comments').values(comments))
        .insertInto('chat_events')
        .values(events)
        .execute();
      return;
    }
    await trx
      .with('give_back', () => giveBack())
      .with('comment', (db) => db.insertInto('comments').values(comments))
      .insertInto('chat_events')
      .values(events)
      .execute();
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

/** The session's row, locked, and the chat's rules. */
interface LockedChat {
  /** The session's last offset before this batch. */
  base: number;
  /** Offsets the batch took (one per comment); those refused are given back. */
  taken: number;
  vendor_id: UserId;
  slow_mode_seconds: number;
  /** The vendor's bans, moderators and blocked terms, current as of the lock. */
  rules: VendorRules;
}

/**
 * One statement: the session row's lock, a block of offsets for the whole batch (given back by
 * `#insert` for those refused: nobody else sees the row before this transaction ends), and the
 * version of the vendor's rules, which come from this instance's cache while it holds that
 * version (chat-rules.ts). Throws (for the whole batch) when the session is unknown or has ended.
 */
async function lockChat(
  trx: Transaction<Database>,
  sessionId: string,
  size: number,
  rules: ChatRules,
  now: Date,
): Promise<LockedChat> {
  const row = await trx
    .updateTable('live_sessions as s')
    .set({ last_offset: sql<number>`s.last_offset + ${size}` })
    .where('s.id', '=', sessionId)
    .where('s.is_live', '=', true)
    .returning((eb) => [
      's.last_offset',
      's.vendor_id',
      's.slow_mode_seconds',
      eb
        .selectFrom('chat_rules_versions as v')
        .select('v.version')
        .whereRef('v.vendor_id', '=', 's.vendor_id')
        .as('rules_version'),
    ])
    .executeTakeFirst();
  if (!row) {
    const exists = await trx
      .selectFrom('live_sessions')
      .select('id')
      .where('id', '=', sessionId)
      .executeTakeFirst();
    throw exists ? sessionEnded('Session has ended; comments are closed') : notFound('Session not found');
  }
  return {
    base: row.last_offset - size,
    taken: size,
    vendor_id: row.vendor_id,
    slow_mode_seconds: row.slow_mode_seconds,
    rules: await rules.at(trx, row.vendor_id, row.rules_version ?? 0, now.getTime()),
  };
}

/**
 * When each author bound by slow mode last commented in this session. Read after the lock, in a
 * statement of its own: one that waited for the lock reads from its older snapshot, and could
 * miss this author's comment in a second tab that held the lock.
 */
async function lastCommentTimes(
  trx: Transaction<Database>,
  sessionId: string,
  batch: PendingComment[],
  chat: LockedChat,
): Promise<Map<string, Date>> {
  const bound =
    chat.slow_mode_seconds > 0
      ? [...new Set(batch.map((p) => p.author.id))].filter((id) => !exempt(id, chat))
      : [];
  if (bound.length === 0) return new Map();
  const rows = await trx
    .selectFrom('comments')
    .select((c) => ['user_id', c.fn.max('created_at').as('last')])
    .where('session_id', '=', sessionId)
    .where('user_id', 'in', bound)
    .groupBy('user_id')
    .execute();
  return new Map(rows.map((r) => [String(r.user_id), new Date(r.last)]));
}

/** The vendor and their moderators are not bound by slow mode. */
function exempt(author: UserId, chat: LockedChat): boolean {
  return chat.rules.moderators.has(String(author)) || String(chat.vendor_id) === String(author);
}

/** Why the chat's rules refuse this comment now, or undefined when they accept it. */
function refusalOf(
  pending: PendingComment,
  chat: LockedChat,
  lastAt: Map<string, Date>,
  now: Date,
): DomainError | undefined {
  const author = String(pending.author.id);
  const ban = chat.rules.bans.get(author);
  // A ban read while it was still running may have expired since.
  if (ban !== undefined && (ban === null || ban > now)) return banned(ban);
  if (findFoldedTerm(pending.message, chat.rules.terms)) {
    return new DomainError(
      'blocked_term',
      'This comment contains a word or phrase the host does not allow; it was not posted',
      { field: ['body', 'message'] },
    );
  }
  if (exempt(pending.author.id, chat) || chat.slow_mode_seconds === 0) return undefined;
  const last = lastAt.get(author);
  const waitMs = last ? last.getTime() + chat.slow_mode_seconds * 1000 - now.getTime() : 0;
  return waitMs > 0 ? slowMode(chat.slow_mode_seconds, waitMs) : undefined;
}
