import type { RateRule } from '../config.js';
import { rateLimited } from '../contract/errors.js';
import type { UserId } from '../contract/ids.js';
import type { Limiter } from './limiter.js';
import { windowWords } from './window-words.js';

/**
 * The per-user comment budget, a gate the comments service asks before storing (live/comments.ts
 * `CommentGate`). The REST route and the WebSocket `comment` message both post through that one
 * service, so they draw from one counter: switching transport does not double a spammer's
 * allowance. Over budget: `rate_limited` with when to retry (REST 429 with Retry-After, or a
 * WebSocket `{type:"error", code:"rate_limited", retry_after}`).
 */
export class CommentBudget {
  constructor(
    private readonly limiter: Limiter,
    private readonly rule: RateRule,
  ) {}

  async check(author: UserId): Promise<void> {
    const { count, resetMs } = await this.limiter.hit(`comments:${String(author)}`, this.rule.windowMs);
    if (count > this.rule.max) {
      throw rateLimited(
        `Too many comments (at most ${this.rule.max} per ${windowWords(this.rule.windowMs)})`,
        resetMs,
      );
    }
  }
}
