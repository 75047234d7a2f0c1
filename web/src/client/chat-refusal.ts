import { ApiError } from './errors.js';

/** Why the server refused a comment, when it is a rule of the chat rather than a fault. */
export type ChatRefusal =
  /** Banned or timed out from the vendor's chats; `until` null: until the host lifts it. */
  | { kind: 'banned'; until: Date | null }
  /** Slow mode, or the comment budget: the user may comment again in `seconds`. */
  | { kind: 'wait'; seconds: number }
  /** The comment holds a term the host blocked; it was not stored. */
  | { kind: 'blocked_term'; message: string };

const BANNED = /^You are banned from this chat\b/;
/** The ISO time in the detail of REST's 403 for a ban ("… until 2026-11-25T11:20:00.000Z"). */
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/;
const WAIT_SECONDS = /\bin (\d+) s\b/;

/**
 * Reads a refused `POST …/comments`: 403 `{detail}` for a ban (the detail names until when: REST
 * has no `until` field, unlike the WebSocket's `banned` event), 429 with `Retry-After` for slow
 * mode and the comment budget, 422 of type `blocked_term`. Anything else: null.
 */
export function chatRefusalOf(error: unknown): ChatRefusal | null {
  if (!(error instanceof ApiError)) return null;
  const { status, detail } = error;
  if (status === 403 && typeof detail === 'string' && BANNED.test(detail)) {
    const iso = ISO_TIME.exec(detail)?.[0];
    const until = iso ? new Date(iso) : null;
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
