import type { RateRule } from '../config.js';
import { rateLimited } from '../contract/errors.js';
import type { UserId } from '../contract/ids.js';
import type { Limiter } from './limiter.js';
import { windowWords } from './window-words.js';

/**
 * A per-user budget of some action, a gate its service asks before acting: comments
 * (live/comments.ts `CommentGate`; REST and WebSocket post through one service, so they draw from
 * one counter and switching transport does not double a spammer's allowance) and moderation
 * actions (live/moderation.ts `ModerationGate`). Over budget: `rate_limited` with when to retry
 * (REST 429 with Retry-After, or a WebSocket `{type:"error", code:"rate_limited", retry_after}`).
 */
export class UserBudget {
  constructor(
    private readonly limiter: Limiter,
    private readonly rule: RateRule,
    /** Counter key prefix: `comments`, `moderation`. */
    private readonly name: string,
    /** How the refusal starts: "Too many comments". */
    private readonly what: string,
  ) {}

  async check(user: UserId): Promise<void> {
    const { count, resetMs } = await this.limiter.hit(`${this.name}:${String(user)}`, this.rule.windowMs);
    if (count > this.rule.max) {
      throw rateLimited(
        `${this.what} (at most ${this.rule.max} per ${windowWords(this.rule.windowMs)})`,
        resetMs,
      );
    }
  }
}
