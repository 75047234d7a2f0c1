/** What PostgreSQL's (and pg's) errors mean to the rest of the server. */

/** The errors that mean "the database is unreachable", from pg and from the pool. */
export function isDatabaseDown(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && UNREACHABLE_CODES.has(e.code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e.message ?? '',
  );
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  // admin_shutdown, crash_shutdown, cannot_connect_now
  '57P01',
  '57P02',
  '57P03',
  // connection_failure, sqlclient_unable_to_establish_sqlconnection, connection_does_not_exist
  '08006',
  '08001',
  '08003',
]);

/**
 * True for a foreign-key violation. A user id comes from a token, and a token can outlive its
 * user: writing a row that references the vanished user is then the caller's problem, not ours.
 */
export const isForeignKeyViolation = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === '23503';

/** True for a unique-constraint violation (two writers raced; the index decided). */
export const isUniqueViolation = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === '23505';
