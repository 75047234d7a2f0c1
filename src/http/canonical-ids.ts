import type { FastifyInstance } from 'fastify';
import { canonicalSessionId } from '../contract/ids.js';

/** Path parameters that may name a live session (Agora channels are named after sessions). */
const SESSION_PARAMS = ['session_id', 'channelName'] as const;

/**
 * Session ids are UUIDs, and inside the server one session has one spelling: lower case. A
 * client may send any case (iOS's `UUID.uuidString` is upper case); the database compares UUIDs
 * case-blind but bus channels, rooms and Agora channel names are plain strings, so an upper-case
 * id would reach a room no viewer is in. Every route and both sockets get the id lower-cased
 * here, once, before validation. Register before the routes.
 */
export function canonicalizeSessionIds(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const params = request.params as Record<string, unknown> | undefined;
    if (!params) return;
    for (const name of SESSION_PARAMS) {
      const value = params[name];
      if (typeof value === 'string') params[name] = canonicalSessionId(value);
    }
  });
}
