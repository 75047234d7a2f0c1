/** An API call that failed, with a sentence a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: unknown,
    /** Seconds from a `Retry-After` header (slow mode, rate limits). */
    readonly retryAfter?: number,
    /** The parsed answer, for fields beside `detail` (a ban's `until`). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Words for the server's `detail` values and status codes, so users never see raw JSON. */
export function describeFailure(status: number, detail: unknown): string {
  if (typeof detail === 'string') {
    switch (detail) {
      case 'Incorrect email/password':
        return 'That email and password do not match an account.';
      case 'Email already registered':
        return 'An account with this email already exists. Sign in instead.';
      case 'vendor role required':
        return 'Only vendor accounts can go live.';
      case 'Session not found':
        return 'This live session does not exist.';
    }
  }
  if (Array.isArray(detail)) {
    const first = detail[0] as { loc?: unknown[]; msg?: string; type?: string } | undefined;
    // A blocked term: the server's sentence says what happened without repeating the term.
    if (first?.type === 'blocked_term' && first.msg) return sentence(first.msg);
    const field = first?.loc?.[first.loc.length - 1];
    if (typeof field === 'string') return `Please check the ${field.replaceAll('_', ' ')} field.`;
  }
  if (status === 401) return 'Your sign-in has expired. Please sign in again.';
  // The moderation refusals say who may act, or until when a ban lasts: worth showing as they are.
  if (status === 403 && typeof detail === 'string' && detail) return sentence(detail);
  if (status === 403) return 'Your account is not allowed to do that.';
  if (status === 404) return 'That was not found. It may have been removed.';
  if (status === 409) return 'This live session has already ended.';
  if (status === 429) return 'Too many requests. Wait a moment and try again.';
  if (status >= 500) return 'The server had a problem. Please try again shortly.';
  if (typeof detail === 'string' && detail) return detail;
  return `The request failed (HTTP ${status}).`;
}

/** "only the host may …" → "Only the host may ….": the server's details as sentences. */
function sentence(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The message to show for anything thrown by the client. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'Cannot reach the server. Check your connection or the API address.';
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
