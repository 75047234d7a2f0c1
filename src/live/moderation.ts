import { sql, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import { DomainError, forbidden, notFound, sessionEnded } from '../contract/errors.js';
import { isSessionId } from '../contract/ids.js';
import type { Ban, Comment, Moderator } from '../contract/rest.js';
import type { Database, UserId } from '../db/schema.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import type { ChatLog } from './chat-log.js';
import { bumpRulesVersion } from './chat-rules.js';
import { COMMENT_COLUMNS, toComment } from './comments.js';
import type { LiveEvents } from './events.js';

/** A signed-in user acting on a chat. */
export interface Actor {
  id: UserId;
  role: string;
}

/**
 * What may refuse a moderation action before it runs: the per-actor budget (limits/), so a
 * compromised moderator account cannot wipe a chat in a loop.
 */
export interface ModerationGate {
  check(actor: UserId): Promise<void>;
}

/** How far back `delete_recent` reaches. */
export const DELETE_RECENT_MS = 10 * 60 * 1000;

type Trx = Transaction<Database>;

/**
 * The vendor's control of their chat: moderators, deleting comments, bans and timeouts, slow
 * mode, blocked terms and the pinned comment. Every change that viewers see is a chat event
 * numbered by the chat log in the same transaction, and every action is written to
 * `moderation_log` (who did what, when) in that transaction too.
 *
 * Who may act: the session's vendor and the moderators that vendor appointed; a comment's author
 * may also delete their own comment. A ban made in one session holds in all of the vendor's.
 */
export class Moderation {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: ChatLog,
    private readonly events: LiveEvents,
    private readonly clock: Clock,
    private readonly gate?: ModerationGate,
    /** Webhooks: `user.banned` and `comment.deleted`, recorded in the same transaction. */
    private readonly outbox?: WebhookOutbox,
  ) {}

  // ---- moderators (the vendor's own) ------------------------------------------------------

  async listModerators(vendorId: UserId): Promise<Moderator[]> {
    const rows = await this.db
      .selectFrom('moderators as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'u.name', 'm.created_at'])
      .where('m.vendor_id', '=', vendorId)
      .orderBy('m.created_at')
      .execute();
    return rows.map((r) => ({ user_id: r.user_id, name: r.name, created_at: r.created_at.toISOString() }));
  }

  /** Appoints an existing user (idempotent). 404 for no such user; a vendor moderates anyway. */
  async appointModerator(vendorId: UserId, userId: UserId): Promise<Moderator> {
    if (String(vendorId) === String(userId)) {
      throw new DomainError('invalid', 'you moderate your own chat already', { field: ['path', 'user_id'] });
    }
    await this.gate?.check(vendorId);
    return this.db.transaction().execute(async (trx) => {
      const user = await trx
        .selectFrom('users')
        .select(['id', 'name'])
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!user) throw notFound('User not found');
      const row = await trx
        .insertInto('moderators')
        .values({ vendor_id: vendorId, user_id: userId })
        .onConflict((oc) => oc.columns(['vendor_id', 'user_id']).doUpdateSet({ vendor_id: vendorId }))
        .returning(['created_at'])
        .executeTakeFirstOrThrow();
      await audit(trx, { vendorId, actorId: vendorId, action: 'moderator_added', targetUserId: userId });
      await bumpRulesVersion(trx, vendorId);
      return { user_id: user.id, name: user.name, created_at: row.created_at.toISOString() };
    });
  }

  /** Removes a moderator; 404 when the user is not one. */
  async removeModerator(vendorId: UserId, userId: UserId): Promise<void> {
    await this.gate?.check(vendorId);
    await this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('moderators')
        .where('vendor_id', '=', vendorId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (removed.numDeletedRows === 0n) throw notFound('That user is not one of your moderators');
      await audit(trx, { vendorId, actorId: vendorId, action: 'moderator_removed', targetUserId: userId });
      await bumpRulesVersion(trx, vendorId);
    });
  }

  // ---- comments -----------------------------------------------------------------------------

  /** Soft-deletes a comment (its author, the vendor or a moderator); viewers hear comment_deleted. */
  async deleteComment(sessionId: string, commentId: string, actor: Actor): Promise<void> {
    if (!isSessionId(commentId)) throw notFound('Comment not found');
    await this.gate?.check(actor.id);
    const session = await this.#session(sessionId);
    const comment = await this.db
      .selectFrom('comments')
      .select(['id', 'user_id'])
      .where('id', '=', commentId)
      .where('session_id', '=', session.id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!comment) throw notFound('Comment not found');
    const own = String(comment.user_id) === String(actor.id);
    if (!own)
      await requireModerator(
        this.db,
        session.vendor_id,
        actor,
        'only its author, the host or a moderator may delete a comment',
      );
    const published = await this.db.transaction().execute(async (trx) => {
      await lockSession(trx, session.id);
      const deleted = await this.#delete(trx, session.id, [commentId], actor.id);
      if (!own) {
        await audit(trx, {
          vendorId: session.vendor_id,
          sessionId: session.id,
          actorId: actor.id,
          action: 'comment_deleted',
          targetUserId: comment.user_id,
          commentId,
        });
      }
      return deleted;
    });
    this.#publish(published);
  }

  // ---- bans and timeouts ----------------------------------------------------------------

  /**
   * Bans `userId` from every session of the session's vendor, for `durationSeconds` or until
   * lifted, optionally deleting their comments of the last 10 minutes in those sessions.
   * Neither the vendor nor a moderator can be banned.
   */
  async ban(
    sessionId: string,
    actor: Actor,
    input: { userId: UserId; durationSeconds?: number | undefined; deleteRecent?: boolean | undefined },
  ): Promise<Ban> {
    await this.gate?.check(actor.id);
    const session = await this.#session(sessionId);
    await requireModerator(this.db, session.vendor_id, actor, 'only the host or a moderator may ban');
    if (String(input.userId) === String(session.vendor_id))
      throw forbidden('the host cannot be banned from their own chat');
    const target = await this.#banTarget(session.vendor_id, input.userId);

    const now = this.clock.now();
    const until = input.durationSeconds ? new Date(now + input.durationSeconds * 1000) : null;
    const { ban, deleted } = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('bans')
        .values({
          vendor_id: session.vendor_id,
          user_id: target.id,
          until,
          created_by: actor.id,
          created_at: new Date(now),
        })
        .onConflict((oc) =>
          oc
            .columns(['vendor_id', 'user_id'])
            .doUpdateSet({ until, created_by: actor.id, created_at: new Date(now) }),
        )
        .returning(['until', 'created_by', 'created_at'])
        .executeTakeFirstOrThrow();
      await bumpRulesVersion(trx, session.vendor_id);
      await audit(trx, {
        vendorId: session.vendor_id,
        sessionId: session.id,
        actorId: actor.id,
        action: until ? 'timeout' : 'ban',
        targetUserId: target.id,
        detail: JSON.stringify({
          until: until?.toISOString() ?? null,
          delete_recent: Boolean(input.deleteRecent),
        }),
      });
      await this.outbox?.enqueue(trx, 'user.banned', {
        vendor_id: session.vendor_id,
        user_id: target.id,
        session_id: session.id,
        until: until?.toISOString() ?? null,
        banned_by: actor.id,
      });
      const deleted = input.deleteRecent
        ? await this.#deleteRecent(trx, session.vendor_id, target.id, now, actor.id)
        : [];
      return {
        ban: {
          user_id: target.id,
          user_name: target.name,
          until: row.until ? row.until.toISOString() : null,
          created_by: row.created_by,
          created_at: row.created_at.toISOString(),
        },
        deleted,
      };
    });
    this.#publish(deleted);
    return ban;
  }

  /** The user to ban, who must exist and not be one of the vendor's moderators. */
  async #banTarget(vendorId: UserId, userId: UserId): Promise<{ id: UserId; name: string }> {
    const target = await this.db
      .selectFrom('users as u')
      .select((eb) => [
        'u.id',
        'u.name',
        eb
          .selectFrom('moderators as m')
          .select(sql<boolean>`true`.as('is_moderator'))
          .where('m.vendor_id', '=', vendorId)
          .whereRef('m.user_id', '=', 'u.id')
          .as('is_moderator'),
      ])
      .where('u.id', '=', userId)
      .executeTakeFirst();
    if (!target) throw notFound('User not found');
    if (target.is_moderator) throw forbidden('a moderator cannot be banned; remove them as moderator first');
    return target;
  }

  /**
   * Deletes the user's comments of the last 10 minutes in any session of this vendor, per
   * session under that session's lock (each deletion takes that session's next offset).
   */
  async #deleteRecent(
    trx: Transaction<Database>,
    vendorId: UserId,
    userId: UserId,
    now: number,
    actorId: UserId,
  ): Promise<Published[]> {
    const recent = await trx
      .selectFrom('comments as c')
      .innerJoin('live_sessions as s', 's.id', 'c.session_id')
      .select(['c.id', 'c.session_id'])
      .where('s.vendor_id', '=', vendorId)
      .where('c.user_id', '=', userId)
      .where('c.deleted_at', 'is', null)
      .where('c.created_at', '>=', new Date(now - DELETE_RECENT_MS))
      .orderBy('c.session_id')
      .orderBy('c.event_offset')
      .execute();
    const bySession = new Map<string, string[]>();
    for (const c of recent) bySession.set(c.session_id, [...(bySession.get(c.session_id) ?? []), c.id]);
    const deleted: Published[] = [];
    for (const [id, commentIds] of [...bySession].sort(([a], [b]) => a.localeCompare(b))) {
      await lockSession(trx, id);
      deleted.push(...(await this.#delete(trx, id, commentIds, actorId)));
    }
    return deleted;
  }

  /** Lifts a ban or timeout; 404 when the user is not banned. */
  async liftBan(sessionId: string, actor: Actor, userId: UserId): Promise<void> {
    await this.gate?.check(actor.id);
    const session = await this.#session(sessionId);
    await requireModerator(this.db, session.vendor_id, actor, 'only the host or a moderator may lift a ban');
    await this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('bans')
        .where('vendor_id', '=', session.vendor_id)
        .where('user_id', '=', userId)
        .where((w) => w.or([w('until', 'is', null), w('until', '>', new Date(this.clock.now()))]))
        .executeTakeFirst();
      if (removed.numDeletedRows === 0n) throw notFound('That user is not banned');
      await bumpRulesVersion(trx, session.vendor_id);
      await audit(trx, {
        vendorId: session.vendor_id,
        sessionId: session.id,
        actorId: actor.id,
        action: 'ban_lifted',
        targetUserId: userId,
      });
    });
  }

  /** The vendor's bans and timeouts still in force. */
  async listBans(sessionId: string, actor: Actor): Promise<Ban[]> {
    const session = await this.#session(sessionId);
    await requireModerator(
      this.db,
      session.vendor_id,
      actor,
      'only the host or a moderator may see the bans',
    );
    const rows = await this.db
      .selectFrom('bans as b')
      .innerJoin('users as u', 'u.id', 'b.user_id')
      .select(['b.user_id', 'u.name', 'b.until', 'b.created_by', 'b.created_at'])
      .where('b.vendor_id', '=', session.vendor_id)
      .where((w) => w.or([w('b.until', 'is', null), w('b.until', '>', new Date(this.clock.now()))]))
      .orderBy('b.created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      user_id: r.user_id,
      user_name: r.name,
      until: r.until ? r.until.toISOString() : null,
      created_by: r.created_by,
      created_at: r.created_at.toISOString(),
    }));
  }

  // ---- pin and settings -------------------------------------------------------------------

  async pin(sessionId: string, actor: Actor, commentId: string): Promise<Comment> {
    await this.gate?.check(actor.id);
    const session = await this.#session(sessionId);
    await requireModerator(
      this.db,
      session.vendor_id,
      actor,
      'only the host or a moderator may pin a comment',
    );
    if (!session.is_live) throw sessionEnded('Session has ended; the chat is closed');
    const published = await this.db.transaction().execute(async (trx) => {
      await lockSession(trx, session.id);
      const row = isSessionId(commentId)
        ? await trx
            .selectFrom('comments as c')
            .innerJoin('users as u', 'u.id', 'c.user_id')
            .select(COMMENT_COLUMNS)
            .where('c.id', '=', commentId)
            .where('c.session_id', '=', session.id)
            .where('c.deleted_at', 'is', null)
            .executeTakeFirst()
        : undefined;
      if (!row) throw notFound('Comment not found');
      const comment = toComment(row);
      await trx
        .updateTable('live_sessions')
        .set({ pinned_comment_id: comment.id })
        .where('id', '=', session.id)
        .execute();
      const { message } = await this.log.append(trx, session.id, (offset) => ({
        type: 'comment_pinned' as const,
        comment,
        offset,
      }));
      await audit(trx, {
        vendorId: session.vendor_id,
        sessionId: session.id,
        actorId: actor.id,
        action: 'comment_pinned',
        targetUserId: comment.user_id,
        commentId: comment.id,
      });
      return { comment, events: [{ sessionId: session.id, message }] };
    });
    this.#publish(published.events);
    return published.comment;
  }

  /** Unpins the session's pinned comment, if any (idempotent). */
  async unpin(sessionId: string, actor: Actor): Promise<void> {
    await this.gate?.check(actor.id);
    const session = await this.#session(sessionId);
    await requireModerator(this.db, session.vendor_id, actor, 'only the host or a moderator may unpin');
    const published = await this.db.transaction().execute(async (trx) => {
      await lockSession(trx, session.id);
      return this.#unpin(trx, session.id, actor.id, session.vendor_id);
    });
    this.#publish(published);
  }

  /** Sets the session's slow mode (0: off); viewers hear chat_settings. */
  async setSlowMode(
    sessionId: string,
    actor: Actor,
    seconds: number,
  ): Promise<{ slow_mode_seconds: number }> {
    await this.gate?.check(actor.id);
    const session = await this.#session(sessionId);
    await requireModerator(
      this.db,
      session.vendor_id,
      actor,
      'only the host or a moderator may change slow mode',
    );
    if (!session.is_live) throw sessionEnded('Session has ended; the chat is closed');
    const published = await this.db.transaction().execute(async (trx) => {
      await lockSession(trx, session.id);
      await trx
        .updateTable('live_sessions')
        .set({ slow_mode_seconds: seconds })
        .where('id', '=', session.id)
        .execute();
      const { message } = await this.log.append(trx, session.id, (offset) => ({
        type: 'chat_settings' as const,
        slow_mode_seconds: seconds,
        offset,
      }));
      await audit(trx, {
        vendorId: session.vendor_id,
        sessionId: session.id,
        actorId: actor.id,
        action: 'slow_mode',
        detail: JSON.stringify({ slow_mode_seconds: seconds }),
      });
      return [{ sessionId: session.id, message }];
    });
    this.#publish(published);
    return { slow_mode_seconds: seconds };
  }

  // ---- blocked terms (the vendor's own) -----------------------------------------------------

  async blockedTerms(vendorId: UserId): Promise<string[]> {
    const rows = await this.db
      .selectFrom('blocked_terms')
      .select('term')
      .where('vendor_id', '=', vendorId)
      .orderBy('term')
      .execute();
    return rows.map((r) => r.term);
  }

  /** Replaces the vendor's blocked terms (trimmed, duplicates and blanks dropped). */
  async setBlockedTerms(vendorId: UserId, terms: readonly string[]): Promise<string[]> {
    await this.gate?.check(vendorId);
    const unique = [...new Set(terms.map((t) => t.trim()).filter(Boolean))].sort();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('blocked_terms').where('vendor_id', '=', vendorId).execute();
      await bumpRulesVersion(trx, vendorId);
      if (unique.length > 0) {
        await trx
          .insertInto('blocked_terms')
          .values(unique.map((term) => ({ vendor_id: vendorId, term })))
          .execute();
      }
      await audit(trx, {
        vendorId,
        actorId: vendorId,
        action: 'blocked_terms',
        detail: JSON.stringify({ count: unique.length }),
      });
    });
    return unique;
  }

  // ---- helpers ------------------------------------------------------------------------------

  async #session(sessionId: string) {
    const session = isSessionId(sessionId)
      ? await this.db
          .selectFrom('live_sessions')
          .select(['id', 'vendor_id', 'is_live'])
          .where('id', '=', sessionId)
          .executeTakeFirst()
      : undefined;
    if (!session) throw notFound('Session not found');
    return session;
  }

  /** Soft-deletes comments of one session (lock held), unpinning one that was pinned. */
  async #delete(trx: Trx, sessionId: string, commentIds: string[], actorId: UserId): Promise<Published[]> {
    const events: Published[] = [];
    const deleted = await trx
      .updateTable('comments')
      .set({ deleted_at: new Date(this.clock.now()), deleted_by: actorId })
      .where('session_id', '=', sessionId)
      .where('id', 'in', commentIds)
      .where('deleted_at', 'is', null)
      .returning(['id', 'event_offset', 'user_id'])
      .execute();
    await this.log.redact(trx, sessionId, deleted);
    for (const comment of deleted.sort((a, b) => a.event_offset - b.event_offset)) {
      await this.outbox?.enqueue(trx, 'comment.deleted', {
        session_id: sessionId,
        comment_id: comment.id,
        user_id: comment.user_id,
        deleted_by: actorId,
      });
      const { message } = await this.log.append(trx, sessionId, (offset) => ({
        type: 'comment_deleted' as const,
        id: comment.id,
        offset,
      }));
      events.push({ sessionId, message });
    }
    const pinned = await trx
      .selectFrom('live_sessions')
      .select(['pinned_comment_id', 'vendor_id'])
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    if (pinned.pinned_comment_id && commentIds.includes(pinned.pinned_comment_id)) {
      events.push(...(await this.#unpin(trx, sessionId, actorId, pinned.vendor_id)));
    }
    return events;
  }

  async #unpin(trx: Trx, sessionId: string, actorId: UserId, vendorId: UserId): Promise<Published[]> {
    const cleared = await trx
      .updateTable('live_sessions')
      .set({ pinned_comment_id: null })
      .where('id', '=', sessionId)
      .where('pinned_comment_id', 'is not', null)
      .executeTakeFirst();
    if (cleared.numUpdatedRows === 0n) return [];
    const { message } = await this.log.append(trx, sessionId, (offset) => ({
      type: 'comment_unpinned' as const,
      offset,
    }));
    await audit(trx, { vendorId, sessionId, actorId, action: 'comment_unpinned' });
    return [{ sessionId, message }];
  }

  /** Hands committed events to the realtime layer, in offset order. */
  #publish(events: readonly Published[]): void {
    for (const { sessionId, message } of events) this.events.chatEvent(sessionId, message);
  }
}

type Published = { sessionId: string; message: Parameters<LiveEvents['chatEvent']>[1] };

/** The vendor, or one of the vendor's moderators; else 403 with `why`. */
export async function requireModerator(
  db: Kysely<Database>,
  vendorId: UserId,
  actor: Actor,
  why: string,
): Promise<void> {
  if (String(vendorId) === String(actor.id)) return;
  const moderator = await db
    .selectFrom('moderators')
    .select('user_id')
    .where('vendor_id', '=', vendorId)
    .where('user_id', '=', actor.id)
    .executeTakeFirst();
  if (!moderator) throw forbidden(why);
}

/** Takes the session row's lock: this transaction's events are numbered after every earlier one. */
async function lockSession(trx: Trx, sessionId: string): Promise<void> {
  await trx.selectFrom('live_sessions').select('id').where('id', '=', sessionId).forUpdate().execute();
}

/** One row of `moderation_log`: who did what, when. */
async function audit(
  trx: Trx,
  entry: {
    vendorId: UserId;
    sessionId?: string;
    actorId: UserId;
    action: string;
    targetUserId?: UserId;
    commentId?: string;
    detail?: string;
  },
): Promise<void> {
  await trx
    .insertInto('moderation_log')
    .values({
      vendor_id: entry.vendorId,
      session_id: entry.sessionId ?? null,
      actor_id: entry.actorId,
      action: entry.action,
      target_user_id: entry.targetUserId ?? null,
      comment_id: entry.commentId ?? null,
      detail: entry.detail ?? null,
    })
    .execute();
}
