import { DomainError } from './errors.js';
import { isSessionId } from './ids.js';

/**
 * Paging cursors: opaque to clients, the session id of a page's last item, base64url-encoded.
 * One definition for every list paged by session (live, past, replays).
 */
export function encodeCursor(sessionId: string): string {
  return Buffer.from(sessionId).toString('base64url');
}

/** The session id a cursor names; `bad_cursor` when this server never issued it. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isSessionId(id)) throw badCursor();
  return id;
}

/** A cursor that decodes but names nothing of its list. */
export const badCursor = () =>
  new DomainError('bad_cursor', 'cursor is not one this server issued; start again without it');
