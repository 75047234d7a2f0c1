import { ApiError } from './errors.js';

/** Why the server refused a comment, when it is a rule of the chat rather than a fault. */
export type ChatRefusal =
  /** Banned or timed out from the vendor's chats; `until` null: until the host lifts it. */
  | { kind: 'banned'; until: Date | null }
  /** Slow mode, or the comment budget: the user may comment again in `seconds`. */
  | { kind: 'wait'; seconds: number }
  /** The comment holds a term the host blocked; it was not stored. */
  | { kind: 'blocked_term'; message: string };

const WAIT_SECONDS = /\bin (\d+) s\b/;

/**
 * Reads a refused `POST …/comments`: 403 `{detail, until}` for a ban (`until` null: until lifted),
 * 429 with `Retry-After` for slow mode and the comment budget, 422 of type `blocked_term`.
 * Anything else: null.
 */
export function chatRefusalOf(error: unknown): ChatRefusal | null {
  if (!(error instanceof ApiError)) return null;
  const { status, detail } = error;
  const banned = error.body as { until?: unknown } | undefined;
  if (status === 403 && banned && 'until' in banned) {
    const until = typeof banned.until === 'string' ? new Date(banned.until) : null;
    return { kind: 'banned', until: until && !Number.isNaN(until.getTime()) ? until : null };
  }
  if (status === 429) {
    const fromDetail = typeof detail === 'string' ? Number(WAIT_SECONDS.exec(detail)?.[1]) : NaN;
    const seconds = error.retryAfter ?? (Number.isFinite(fromDetail) ? fromDetail : 5);
    return { kind: 'wait', seconds: Math.max(1, Math.ceil(seconds)) };
  }
  if (status === 422 && Array.isArray(detail)) {
    const first = detail[0] as { type?: unknown } | undefined;
    if (first?.type === 'blocked_term') return { kind: 'blocked_term', message: error.message };
  }
  return null;
}
