/**
 * The calls this demo makes to the Streammeon API: sign in, go live, and fetch Agora tokens.
 * Every failure becomes an ApiError whose message is the server's own `detail`.
 */

/** A failed API call: the HTTP status and the server's explanation. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface SignedIn {
  token: string;
  user: { id: string | number; name: string; role: 'vendor' | 'user' };
}

export type RtcRole = 'publisher' | 'audience';

/** A Streammeon API at `baseUrl` (the page's own origin when served by the app). */
export class Api {
  constructor(private readonly baseUrl: string) {}

  /** POST /auth/login. */
  async signIn(email: string, password: string): Promise<SignedIn> {
    const reply = await this.request<{ access_token: string; user: SignedIn['user'] }>(
      'POST',
      '/auth/login',
      {
        body: { email, password },
      },
    );
    return { token: reply.access_token, user: reply.user };
  }

  /** POST /live/sessions: a vendor goes live; the session id is the Agora channel to publish to. */
  async goLive(jwt: string, title: string): Promise<string> {
    const session = await this.request<{ session_id: string }>('POST', '/live/sessions', {
      jwt,
      body: { title },
    });
    return session.session_id;
  }

  /** GET /rtc/…: an Agora RTC token for `channel` as numeric `uid`. */
  async rtcToken(jwt: string, channel: string, role: RtcRole, uid: number, expiry: number): Promise<string> {
    const path = `/rtc/${encodeURIComponent(channel)}/${role}/uid/${uid}?expiry=${expiry}`;
    const reply = await this.request<{ rtcToken: string }>('GET', path, { jwt });
    return reply.rtcToken;
  }

  private async request<T>(
    method: string,
    path: string,
    options: { jwt?: string; body?: unknown },
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (options.jwt) headers.authorization = `Bearer ${options.jwt}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch {
      throw new ApiError(0, `the Streammeon API at ${this.baseUrl || location.origin} cannot be reached`);
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw new ApiError(response.status, detailOf(body) ?? `HTTP ${response.status}`);
    return body as T;
  }
}

/** The words of a `{detail}` error body: a string, or FastAPI's list of `{loc, msg}`. */
function detailOf(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).slice(1).join('.')}: ${d.msg ?? ''}`)
      .join('; ');
  }
  return undefined;
}
