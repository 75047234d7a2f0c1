import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { RateRule } from '../config.js';
import type { Database, UserId } from '../db/schema.js';
import { tooManyRequests } from '../http/errors.js';
import { Comments, type Comment } from '../live/comments.js';
import type { LiveEvents } from '../live/events.js';
import type { Limiter } from './limiter.js';

/**
 * Comments with a per-user budget. The REST route and the WebSocket `comment` message both post
 * through this one object, so they draw from one counter: switching transport does not double a
 * spammer's allowance. Every attempt counts, valid or not, because the budget protects the
 * database and the viewers' screens alike. Over budget: 429 with Retry-After (REST), or an
 * `{type:"error", code:"rate_limited"}` event (WebSocket).
 */
export class RateLimitedComments extends Comments {
  constructor(
    db: Kysely<Database>,
    events: LiveEvents,
    clock: Clock,
    private readonly limiter: Limiter,
    private readonly rule: RateRule,
  ) {
    super(db, events, clock);
  }

  override async post(
    sessionId: string,
    author: { id: UserId; name: string },
    rawMessage: string,
  ): Promise<Comment> {
    const { count, resetMs } = await this.limiter.hit(`comments:${String(author.id)}`, this.rule.windowMs);
    if (count > this.rule.max) {
      throw tooManyRequests(
        `Too many comments (at most ${this.rule.max} per ${windowWords(this.rule.windowMs)})`,
        resetMs,
      );
    }
    return super.post(sessionId, author, rawMessage);
  }
}

/** `60 s`, `5 min`, `500 ms`: a window as a person reads it. */
export function windowWords(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}
