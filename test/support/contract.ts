/** The field names of the contract's JSON objects (README "REST API"), sorted. */

export const SESSION_FIELDS = [
  'ended_at',
  'is_live',
  'live_duration_seconds',
  'session_id',
  'started_at',
  'title',
  'vendor',
  'viewer_count',
  'views_total',
];

export const COMMENT_FIELDS = ['id', 'message', 'session_id', 'ts', 'user_id', 'user_name'];
