import type { LiveSession } from '../../../src/contract/rest.js';

/** A session that ran for a minute and ended, as the hubs are told of its end. */
export function endedSession(sessionId: string): LiveSession {
  return {
    session_id: sessionId,
    title: 'a session',
    vendor: { id: 'v1', name: 'Vendor' },
    is_live: false,
    started_at: new Date(0).toISOString(),
    ended_at: new Date(60_000).toISOString(),
    viewer_count: 0,
    views_total: 0,
    live_duration_seconds: 60,
    stats: null,
    replay_status: 'none',
    thumbnail_url: null,
  };
}
