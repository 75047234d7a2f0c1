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

/** A comment that passed the checks needing no database, waiting for the next batch. */
interface PendingComment {
  author: { id: UserId; name: string };
  message: string;
  /** Set once accepted into a batch. */
  id?: string;
  /** Set once the chat's rules refused it: it is never written, even alone on a retry. */
  refused?: boolean;
  resolve(comment: Comment): void;
  reject(error: unknown): void;
}

/**
 * Posting and reading comments of live sessions. Comments that arrive together, of one session
 * or of many, are written together (batches.ts): one transaction per batch, one lock per
 * session in it, not per comment.
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
    this.#batches = new Batches((batch) => this.#write(batch));
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
   * Writes one batch of comments, of one session or several, in one transaction: each session's
   * row lock (which orders its comments among its events and makes an end in progress finish
   * first) and a block of its offsets, taken for all sessions in one statement; the chat's rules
   * for these authors; then every accepted comment and its chat event in one statement. Each
   * settles once committed (or refused), and the accepted reach the realtime layer in offset order.
   */
  async #write(batch: Map<string, PendingComment[]>): Promise<void> {
    const now = new Date(this.clock.now());
    let accepted: CommentMessage[];
    try {
      accepted = await this.db.transaction().execute(async (trx) => {
        const chats = await lockChats(trx, batch, this.#rules, now);
        const messages: CommentMessage[] = [];
        const givenBack = new Map<string, number>();
        for (const [sessionId, items] of batch) {
          const chat = chats.get(sessionId);
          if (chat instanceof DomainError) {
            for (const pending of items) pending.reject(chat);
            continue;
          }
          const mine = await this.#accept(trx, sessionId, items, chat!, now);
          if (mine.length < chat!.taken) givenBack.set(sessionId, chat!.base + mine.length);
          messages.push(...mine);
        }
        await this.#insert(trx, messages, givenBack);
        return messages;
      });
    } catch (error) {
      const pendings = [...batch.values()].flat();
      // A missing referenced row is an author deleted meanwhile: each alone finds out which.
      if (isForeignKeyViolation(error) && pendings.length > 1) {
        for (const [sessionId, items] of batch) {
          for (const pending of items.filter((p) => !p.refused)) {
            await this.#write(new Map([[sessionId, [pending]]])).catch((single: unknown) =>
              pending.reject(single),
            );
          }
        }
        return;
      }
      throw isForeignKeyViolation(error) ? unauthorized('User no longer exists') : error;
    }
    const byMessage = new Map(accepted.map((m) => [m.id, m]));
    for (const pending of [...batch.values()].flat()) {
      const posted = pending.id ? byMessage.get(pending.id) : undefined;
      if (!posted) continue;
      const { type: _type, ...comment } = posted;
      pending.resolve(comment);
      this.events.commentPosted(comment);
    }
  }

  /** The session's comments its chat's rules accept, with their offsets; the others are refused. */
  async #accept(
    trx: Transaction<Database>,
    sessionId: string,
    items: PendingComment[],
    chat: LockedChat,
    now: Date,
  ): Promise<CommentMessage[]> {
    const lastAt = await lastCommentTimes(trx, sessionId, items, chat);
    const messages: CommentMessage[] = [];
    for (const pending of items) {
      const refusal = refusalOf(pending, chat, lastAt, now);
      if (refusal) {
        pending.refused = true;
        pending.reject(refusal);
        continue;
      }
      lastAt.set(String(pending.author.id), now);
      messages.push(this.#message(sessionId, pending, now, chat.base + messages.length + 1));
    }
    return messages;
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
   * refused (only then: the common batch is all accepted): `givenBack` holds each such session's
   * last offset taken.
   */
  async #insert(
    trx: Transaction<Database>,
    messages: CommentMessage[],
    givenBack: Map<string, number>,
  ): Promise<void> {
    const giveBack = () =>
      trx
        .updateTable('live_sessions')
        .set({ last_offset: caseOfId(givenBack) })
        .where('id', 'in', [...givenBack.keys()]);
    if (messages.length === 0) {
      if (givenBack.size > 0) await giveBack().execute();
      return;
    }
    const comments = messages.map((m) => ({
      id: m.id,
      session_id: m.session_id,
      user_id: m.user_id,
      message: m.message,
      created_at: new Date(m.ts),
      event_offset: m.offset,
    }));
    const events = messages.map((m) => this.log.eventRow(m.session_id, m));
    if (givenBack.size === 0) {
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
export function banned(until: Date | null): DomainError {
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
 * One statement: every session's row lock, a block of offsets for its part of the batch (given
 * back by `#insert` for those refused: nobody else sees the rows before this transaction ends),
 * and the version of its vendor's rules, which come from this instance's cache while it holds
 * that version (chat-rules.ts). Several sessions are locked in the order of their ids, so two
 * batches naming the same sessions (two instances) never wait on each other in a circle. A
 * session that is unknown or has ended gets the error its comments are refused with.
 */
async function lockChats(
  trx: Transaction<Database>,
  batch: Map<string, PendingComment[]>,
  rules: ChatRules,
  now: Date,
): Promise<Map<string, LockedChat | DomainError>> {
  const sizes = new Map([...batch].map(([id, items]) => [id, items.length]));
  const ids = [...sizes.keys()];
  const returning = [
    's.id',
    's.last_offset',
    's.vendor_id',
    's.slow_mode_seconds',
    sql<number | null>`(select v.version from chat_rules_versions v where v.vendor_id = s.vendor_id)`.as(
      'rules_version',
    ),
  ] as const;
  const rows =
    ids.length === 1
      ? await trx
          .updateTable('live_sessions as s')
          .set({ last_offset: sql<number>`s.last_offset + ${sizes.get(ids[0]!)!}` })
          .where('s.id', '=', ids[0]!)
          .where('s.is_live', '=', true)
          .returning(returning)
          .execute()
      : await trx
          .with('locked', (db) =>
            db.selectFrom('live_sessions').select('id').where('id', 'in', ids).orderBy('id').forUpdate(),
          )
          .updateTable('live_sessions as s')
          .from('locked')
          .set({ last_offset: sql<number>`s.last_offset + ${caseOfId(sizes, 's.id')}` })
          .whereRef('s.id', '=', 'locked.id')
          .where('s.is_live', '=', true)
          .returning(returning)
          .execute();
  const chats = new Map<string, LockedChat | DomainError>();
  for (const row of rows) {
    const size = sizes.get(row.id)!;
    chats.set(row.id, {
      base: row.last_offset - size,
      taken: size,
      vendor_id: row.vendor_id,
      slow_mode_seconds: row.slow_mode_seconds,
      rules: await rules.at(trx, row.vendor_id, row.rules_version ?? 0, now.getTime()),
    });
  }
  const missing = ids.filter((id) => !chats.has(id));
  if (missing.length > 0) {
    const known = await trx.selectFrom('live_sessions').select('id').where('id', 'in', missing).execute();
    const ended = new Set(known.map((row) => row.id));
    for (const id of missing) {
      chats.set(
        id,
        ended.has(id)
          ? sessionEnded('Session has ended; comments are closed')
          : notFound('Session not found'),
      );
    }
  }
  return chats;
}

/** `case <column> when <id> then <value> … end`: one value per session in a statement about several. */
function caseOfId(values: Map<string, number>, column = 'id') {
  const whens = [...values].map(([id, value]) => sql`when ${id}::uuid then ${value}::int`);
  return sql<number>`(case ${sql.ref(column)} ${sql.join(whens, sql` `)} end)`;
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
