import type { SDP_TYPE } from '../../../src/contract/media.js';
import { ApiError, describeFailure } from './errors.js';
import type {
  AppConfig,
  AuthResult,
  Ban,
  Comment,
  CreatePoll,
  IceServers,
  LiveSession,
  Moderator,
  Poll,
  Replay,
  ReplayPage,
  Role,
  UserId,
} from './types.js';

/**
 * `application/sdp`, typed against the contract's `SDP_TYPE` but written out here: importing the
 * value would bundle the contract module and the schema library it builds its schemas with.
 */
const SDP: typeof SDP_TYPE = 'application/sdp';

/** A WHIP or WHEP exchange: where its resource lives (absolute URL) and the SDP the server sent. */
export interface SdpExchange {
  resource: string;
  sdp: string;
}

/** A page of live sessions with the ETag it came with, to ask again conditionally. */
export interface LobbyPage {
  items: LiveSession[];
  next_cursor: string | null;
  etag: string | null;
}

/** Typed calls to the Streammeon REST API. One instance per base URL and sign-in. */
export class ApiClient {
  /**
   * `onUnauthorized` runs when the server refuses our token (HTTP 401 on a signed-in call), so
   * the app can send the user back to sign in instead of failing call after call.
   */
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null = null,
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  /** The same API, signed in with another token (or none). */
  withToken(token: string | null): ApiClient {
    return new ApiClient(this.baseUrl, token, this.onUnauthorized);
  }

  register(input: { email: string; name: string; password: string; role: Role }): Promise<AuthResult> {
    return this.request('POST', '/auth/register', input);
  }

  login(input: { email: string; password: string }): Promise<AuthResult> {
    return this.request('POST', '/auth/login', input);
  }

  /** One page of live sessions, newest first; pass `next_cursor` back for the next page. */
  activeSessions(
    limit = 50,
    cursor: string | null = null,
  ): Promise<{ items: LiveSession[]; next_cursor: string | null }> {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    return this.request('GET', `/live/sessions/active?limit=${limit}${after}`);
  }

  /**
   * The first page of live sessions, asked conditionally: with `previous` (what an earlier call
   * returned), the request carries its ETag as If-None-Match, and when the server answers 304
   * (nothing changed) `previous` itself is returned: no body was sent, nothing to render again.
   */
  async lobby(limit = 50, previous?: LobbyPage): Promise<LobbyPage> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (previous?.etag) headers['if-none-match'] = previous.etag;
    const response = await fetch(`${this.baseUrl}/live/sessions/active?limit=${limit}`, { headers });
    if (response.status === 304 && previous) return previous;
    if (!response.ok) {
      const detail = ((await response.json().catch(() => undefined)) as { detail?: unknown } | undefined)
        ?.detail;
      throw new ApiError(response.status, describeFailure(response.status, detail), detail);
    }
    const page = (await response.json()) as { items: LiveSession[]; next_cursor: string | null };
    return { ...page, etag: response.headers.get('etag') };
  }

  session(id: string): Promise<LiveSession> {
    return this.request('GET', `/live/sessions/${encodeURIComponent(id)}`);
  }

  /** `record` is the vendor's choice; left out, the server's default (RECORDINGS) applies. */
  createSession(title: string, record?: boolean): Promise<LiveSession> {
    return this.request('POST', '/live/sessions', { title, ...(record === undefined ? {} : { record }) });
  }

  endSession(id: string): Promise<LiveSession> {
    return this.request('POST', `/live/sessions/${encodeURIComponent(id)}/end`);
  }

  async recentComments(id: string, limit = 50): Promise<Comment[]> {
    const reply = await this.request<{ items: Comment[] }>(
      'GET',
      `/live/sessions/${encodeURIComponent(id)}/comments?limit=${limit}`,
    );
    return reply.items;
  }

  /** Up to `limit` comments after offset `after`, oldest first (deleted ones are left out). */
  async commentsAfter(id: string, after: number, limit = 200): Promise<Comment[]> {
    const reply = await this.request<{ items: Comment[] }>(
      'GET',
      `/live/sessions/${encodeURIComponent(id)}/comments?after=${after}&limit=${limit}`,
    );
    return reply.items;
  }

  postComment(id: string, message: string): Promise<Comment> {
    return this.request('POST', `/live/sessions/${encodeURIComponent(id)}/comments`, { message });
  }

  // --- replays --------------------------------------------------------------------------------

  /**
   * An ended session's replay. A server without the route (404, an older deployment) counts as
   * no replay, so the pages work the same against it.
   */
  async replay(id: string): Promise<Replay> {
    try {
      return await this.request<Replay>('GET', `/live/sessions/${encodeURIComponent(id)}/replay`);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) return { ...NO_REPLAY, timeline: [] };
      throw failure;
    }
  }

  /** One page of ready replays, newest first; an older server without the route has none. */
  async replays(limit = 20, cursor: string | null = null): Promise<ReplayPage> {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    try {
      return await this.request<ReplayPage>('GET', `/live/sessions/replays?limit=${limit}${after}`);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) return { items: [], next_cursor: null };
      throw failure;
    }
  }

  /** The vendor deletes their session's replay (204). */
  deleteReplay(id: string): Promise<void> {
    return this.request('DELETE', `/live/sessions/${encodeURIComponent(id)}/replay`);
  }

  /** Sends the studio's picture of its stream (JPEG); the server keeps at most one per 2 s. */
  async putThumbnail(sessionId: string, jpeg: Blob): Promise<void> {
    const response = await fetch(`${this.baseUrl}/live/sessions/${encodeURIComponent(sessionId)}/thumbnail`, {
      method: 'PUT',
      headers: { 'content-type': 'image/jpeg', ...this.authHeader() },
      body: jpeg,
    });
    if (!response.ok) throw this.failure(response, await response.text());
  }

  /** The session's picture (public, as the lobby is), absolute; null before there is one. */
  thumbnailUrl(session: LiveSession): string | null {
    return session.thumbnail_url ? new URL(session.thumbnail_url, this.baseUrl).toString() : null;
  }

  /**
   * The replay's media as a `<video>` can fetch it: absolute, with the access token in the query,
   * since a media element cannot send an Authorization header (Range requests then seek natively).
   */
  replayMediaUrl(replay: Replay): string | null {
    if (!replay.url) return null;
    const url = new URL(replay.url, this.baseUrl);
    if (this.token) url.searchParams.set('token', this.token);
    return url.toString();
  }

  // --- moderation (the session's vendor and the vendor's moderators) --------------------------

  /** Deletes a comment (its author, the vendor or a moderator); viewers hear `comment_deleted`. */
  deleteComment(id: string, commentId: string): Promise<void> {
    return this.request(
      'DELETE',
      `/live/sessions/${encodeURIComponent(id)}/comments/${encodeURIComponent(commentId)}`,
    );
  }

  pin(id: string, commentId: string): Promise<Comment> {
    return this.request('PUT', `/live/sessions/${encodeURIComponent(id)}/pin`, { comment_id: commentId });
  }

  unpin(id: string): Promise<void> {
    return this.request('DELETE', `/live/sessions/${encodeURIComponent(id)}/pin`);
  }

  /** A timeout of `durationSeconds`, or without it a ban until lifted, in all of the vendor's sessions. */
  ban(id: string, userId: UserId, durationSeconds?: number): Promise<Ban> {
    return this.request('POST', `/live/sessions/${encodeURIComponent(id)}/bans`, {
      user_id: userId,
      ...(durationSeconds ? { duration_seconds: durationSeconds } : {}),
    });
  }

  liftBan(id: string, userId: UserId): Promise<void> {
    return this.request(
      'DELETE',
      `/live/sessions/${encodeURIComponent(id)}/bans/${encodeURIComponent(String(userId))}`,
    );
  }

  /** The vendor's bans and timeouts in force; 403 for anyone but the vendor and moderators. */
  async bans(id: string): Promise<Ban[]> {
    const reply = await this.request<{ items: Ban[] }>(
      'GET',
      `/live/sessions/${encodeURIComponent(id)}/bans`,
    );
    return reply.items;
  }

  /** Slow mode: seconds between one viewer's comments, 0 for off. */
  setSlowMode(id: string, seconds: number): Promise<{ slow_mode_seconds: number }> {
    return this.request('PATCH', `/live/sessions/${encodeURIComponent(id)}/chat`, {
      slow_mode_seconds: seconds,
    });
  }

  // --- polls (opened and closed by the host or a moderator; anyone signed in votes) -----------

  openPoll(id: string, input: CreatePoll): Promise<Poll> {
    return this.request('POST', `/live/sessions/${encodeURIComponent(id)}/polls`, input);
  }

  closePoll(id: string, pollId: string): Promise<Poll> {
    return this.request(
      'DELETE',
      `/live/sessions/${encodeURIComponent(id)}/polls/${encodeURIComponent(pollId)}`,
    );
  }

  /** A vote (204); a later one replaces it. */
  vote(id: string, pollId: string, option: number): Promise<void> {
    return this.request(
      'POST',
      `/live/sessions/${encodeURIComponent(id)}/polls/${encodeURIComponent(pollId)}/votes`,
      { option },
    );
  }

  // --- the vendor's own chat rules --------------------------------------------------------

  async moderators(): Promise<Moderator[]> {
    return (await this.request<{ items: Moderator[] }>('GET', '/me/moderators')).items;
  }

  addModerator(userId: UserId): Promise<Moderator> {
    return this.request('PUT', `/me/moderators/${encodeURIComponent(String(userId))}`);
  }

  removeModerator(userId: UserId): Promise<void> {
    return this.request('DELETE', `/me/moderators/${encodeURIComponent(String(userId))}`);
  }

  async blockedTerms(): Promise<string[]> {
    return (await this.request<{ items: string[] }>('GET', '/me/blocked-terms')).items;
  }

  async setBlockedTerms(terms: string[]): Promise<string[]> {
    return (await this.request<{ items: string[] }>('PUT', '/me/blocked-terms', { terms })).items;
  }

  /**
   * ICE servers and the media mode. A server without the route (an older deployment) means none
   * and mesh; a missing or unknown `media` means mesh too, so older servers keep today's video path.
   */
  async appConfig(): Promise<AppConfig> {
    try {
      const config = await this.request<Partial<AppConfig>>('GET', '/app-config.json');
      return {
        ice_servers: Array.isArray(config.ice_servers) ? config.ice_servers : [],
        media: config.media === 'sfu' ? 'sfu' : 'mesh',
        turn: config.turn === true,
      };
    } catch {
      return { ice_servers: [], media: 'mesh', turn: false };
    }
  }

  /** The ICE servers with fresh TURN credentials for the signed-in user (`GET /ice-servers`). */
  iceServers(): Promise<IceServers> {
    return this.request('GET', '/ice-servers');
  }

  // --- video through the media server (SFU mode) -----------------------------------------------

  /** WHIP: posts the complete offer (no trickle); `201` with the answer and the resource's Location. */
  async whipPublish(sessionId: string, offer: string): Promise<SdpExchange> {
    return this.sdpExchange('POST', this.mediaUrl(sessionId, 'whip'), offer, 201);
  }

  /**
   * WHEP with a counter-offer: the player's recvonly offer only says what it can receive; the
   * media server answers `406` with its own offer (Janus must make the offer) and the resource's
   * Location, to which the player PATCHes its answer ({@link whepAnswer}). `409`: nobody publishes.
   */
  async whepOffer(sessionId: string, offer: string): Promise<SdpExchange> {
    return this.sdpExchange('POST', this.mediaUrl(sessionId, 'whep'), offer, 406);
  }

  /** Completes a WHEP counter-offer: the player's answer to the media server's offer (`204`). */
  async whepAnswer(resource: string, answer: string): Promise<void> {
    await this.sdpExchange('PATCH', resource, answer, 204);
  }

  /** Ends a WHIP or WHEP resource (stop publishing, stop playing). */
  async deleteMediaResource(resource: string): Promise<void> {
    const response = await fetch(resource, { method: 'DELETE', headers: this.authHeader() });
    if (!response.ok) throw this.failure(response, await response.text());
  }

  private mediaUrl(sessionId: string, kind: 'whip' | 'whep'): string {
    return `${this.baseUrl}/live/sessions/${encodeURIComponent(sessionId)}/${kind}`;
  }

  /**
   * One SDP request to `url` (absolute), the body SDP text. Any status but `expected` fails as the
   * JSON calls do (`{detail}` → ApiError).
   */
  private async sdpExchange(
    method: string,
    url: string,
    sdp: string,
    expected: number,
  ): Promise<SdpExchange> {
    const response = await fetch(url, {
      method,
      headers: { ...this.authHeader(), 'content-type': SDP, accept: `${SDP}, application/json` },
      body: sdp,
    });
    const text = await response.text();
    if (response.status !== expected) throw this.failure(response, text);
    const location = response.headers.get('location');
    // The Location is relative to the API (`/live/sessions/{id}/whip/{resource}`); a PATCH answers none.
    return { resource: location ? new URL(location, this.baseUrl).toString() : url, sdp: text };
  }

  /** `ws://…/ws/<kind>/<id>?token=…` on the same host as the REST API, with `query` added. */
  socketUrl(kind: 'live' | 'signal', sessionId: string, query: Record<string, string | number> = {}): string {
    const url = new URL(`/ws/${kind}/${encodeURIComponent(sessionId)}`, this.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.token) url.searchParams.set('token', this.token);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value));
    return url.toString();
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeader() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw this.failure(response, text);
    return parse(text) as T;
  }

  private authHeader(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** The ApiError for a refused call; a 401 on a signed-in call also signs out. */
  private failure(response: Response, text: string): ApiError {
    const parsed = parse(text);
    if (response.status === 401 && this.token) this.onUnauthorized();
    const detail = (parsed as { detail?: unknown } | undefined)?.detail;
    const retryAfter = Number(response.headers.get('retry-after'));
    return new ApiError(
      response.status,
      describeFailure(response.status, detail),
      detail,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      parsed,
    );
  }
}

/** What a session without a replay reads as, also when the server has no replay routes. */
const NO_REPLAY: Replay = {
  status: 'none',
  duration_seconds: null,
  size_bytes: null,
  url: null,
  content_type: null,
  error: null,
  timeline: [],
};

/** A body as JSON when it is JSON, else its text (undefined when empty). */
function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}
