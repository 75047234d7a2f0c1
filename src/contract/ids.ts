/** Ids on the wire: session and comment ids are UUIDs; user ids are UUIDs or integers. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` is a UUID, in any letter case. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** True when `id` can be a session (or comment) id; anything else is simply not found. */
export const isSessionId = isUuid;

/**
 * A session id's one spelling inside the server: lower case. Clients may send any case (iOS's
 * `UUID.uuidString` is upper case); anything that is not a UUID is returned unchanged.
 */
export function canonicalSessionId(id: string): string {
  return isSessionId(id) ? id.toLowerCase() : id;
}

/** A user id: a UUID string, or an integer where the original's `users` table had INTEGER ids. */
export type UserId = string | number;
