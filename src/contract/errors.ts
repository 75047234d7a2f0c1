/**
 * Errors in the domain's words. Services throw DomainError with a stable code. Each code's HTTP status and WebSocket event are in `DOMAIN_ERRORS` below, which
 * http/errors.ts (status and `{detail}`, or FastAPI's 422 list) and realtime (an `error` event,
 * `ERROR_EVENT_CODES`, listed in docs/protocol.md; a test checks) read.
 */

/** The `code` of a WebSocket `{type:"error", code, detail}` event, and whether to retry. */
export interface ErrorEventInfo {
  meaning: string;
  /** True when sending the same message again later may succeed. */
  retry: boolean;
}

export const ERROR_EVENT_CODES = {
  bad_json: { meaning: 'the frame is not valid JSON', retry: false },
  invalid_message: {
    meaning: 'the message is not one the endpoint takes, or a field is invalid',
    retry: false,
  },
  unknown_type: { meaning: 'no such message type on this endpoint', retry: false },
  unauthorized: { meaning: "the sender's user no longer exists", retry: false },
  forbidden: { meaning: 'the sender may not do this', retry: false },
  not_found: { meaning: 'the session does not exist', retry: false },
  session_ended: { meaning: 'the session ended: comments are closed', retry: false },
  rate_limited: { meaning: 'over the comment budget; `retry_after` says in how many seconds', retry: true },
  banned: {
    meaning: 'the user is banned from this chat; `until` says until when (null: until lifted)',
    retry: false,
  },
  slow_mode: {
    meaning: 'slow mode: `retry_after` says in how many seconds the user may comment again',
    retry: true,
  },
  blocked_term: { meaning: 'the comment contains a term the host blocked; it was not stored', retry: false },
  unavailable: { meaning: 'the database is unreachable; the comment was not stored', retry: true },
  internal: { meaning: 'the server failed; the message may not have been handled', retry: true },
  role_already_set: { meaning: '`/ws/signal`: the role is chosen by the first message only', retry: false },
  forbidden_target: { meaning: '`/ws/signal`: viewers can only signal the vendor', retry: false },
} as const satisfies Record<string, ErrorEventInfo>;

export type ErrorEventCode = keyof typeof ERROR_EVENT_CODES;

/** How a domain error reaches a client: its HTTP status, and its WebSocket `error` event code. */
export interface DomainErrorInfo {
  status: number;
  event: ErrorEventCode;
}

/**
 * Every domain error code, once, with its HTTP status and its WebSocket event code beside it.
 * A code a socket can never raise (registration, login, paging, WHIP/WHEP) still names the
 * event it would be, for completeness.
 */
export const DOMAIN_ERRORS = {
  /** A value the rules refuse; `field` says where (FastAPI's `loc`). */
  invalid: { status: 422, event: 'invalid_message' },
  /** No token, a bad one, or one whose user no longer exists. */
  unauthorized: { status: 401, event: 'unauthorized' },
  /** Signed in, but not allowed to do this. */
  forbidden: { status: 403, event: 'forbidden' },
  not_found: { status: 404, event: 'not_found' },
  /** The session ended: comments are closed. */
  session_ended: { status: 409, event: 'session_ended' },
  /** Over a budget; `retryAfterMs` says when to try again. */
  rate_limited: { status: 429, event: 'rate_limited' },
  /** Registration with an email that is taken. */
  email_taken: { status: 400, event: 'invalid_message' },
  /** Login with a wrong email or password (the answer does not say which). */
  bad_credentials: { status: 400, event: 'unauthorized' },
  /** A paging cursor this server never issued. */
  bad_cursor: { status: 400, event: 'invalid_message' },
  /** A dependency is missing or down (the database, a service not configured). */
  unavailable: { status: 503, event: 'unavailable' },
  /** The author is banned from this vendor's chat; `until` says until when (null: until lifted). */
  banned: { status: 403, event: 'banned' },
  /** Slow mode: the author commented less than the session's slow-mode seconds ago. */
  slow_mode: { status: 429, event: 'slow_mode' },
  /** The comment contains a term the vendor blocked. */
  blocked_term: { status: 422, event: 'blocked_term' },
  /** The thing is in a state that refuses this: a poll is open already, or this one is closed. */
  conflict: { status: 409, event: 'invalid_message' },
  /** WHIP/WHEP: a body that is not the SDP (or SDP fragment) the route takes. */
  bad_sdp: { status: 400, event: 'invalid_message' },
  /** WHIP/WHEP: a body of another Content-Type than the route takes. */
  unsupported_media_type: { status: 415, event: 'invalid_message' },
  /** WHEP: nobody is publishing to the session yet (or any more). */
  not_publishing: { status: 409, event: 'invalid_message' },
  /** WHIP/WHEP: `If-Match` names an ETag the resource no longer has. */
  precondition_failed: { status: 412, event: 'invalid_message' },
} as const satisfies Record<string, DomainErrorInfo>;

export type DomainErrorCode = keyof typeof DOMAIN_ERRORS;

export class DomainError extends Error {
  override name = 'DomainError';

  constructor(
    readonly code: DomainErrorCode,
    /** The words the client sees (`detail`). */
    readonly detail: string,
    readonly extra: {
      /** Where the invalid value is, as FastAPI's `loc`: `['body', 'message']`. */
      field?: (string | number)[];
      /** FastAPI's error `type` for an invalid value: `string_too_long`, … */
      type?: string;
      retryAfterMs?: number;
      /** With `banned`: ISO time the ban ends, or null when it lasts until lifted. */
      until?: string | null;
    } = {},
  ) {
    super(detail);
  }
}

export const invalid = (field: (string | number)[], detail: string, type = 'value_error') =>
  new DomainError('invalid', detail, { field, type });
export const unauthorized = (detail = 'Not authenticated') => new DomainError('unauthorized', detail);
export const forbidden = (detail: string) => new DomainError('forbidden', detail);
export const notFound = (detail: string) => new DomainError('not_found', detail);
export const sessionEnded = (detail: string) => new DomainError('session_ended', detail);
export const unavailable = (detail: string) => new DomainError('unavailable', detail);
export const conflict = (detail: string) => new DomainError('conflict', detail);
export const badSdp = (detail: string) => new DomainError('bad_sdp', detail);

/** Over a budget: `what` and when to retry, in the detail and in `retryAfterMs`. */
export function rateLimited(what: string, retryAfterMs: number): DomainError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new DomainError('rate_limited', `${what}; try again in ${seconds} s`, { retryAfterMs });
}

/** What a client hears while the database is unreachable (REST 503 and WebSocket alike). */
export const DATABASE_DOWN_DETAIL = 'Database unavailable, try again shortly';
