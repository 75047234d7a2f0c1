import type { FastifyInstance } from 'fastify';
import { canonicalSessionId } from '../contract/ids.js';

/** Path parameters that may name a live session but are not called `*_id` (Agora's channels). */
const SESSION_PARAMS = ['channelName'] as const;

/** A field that carries an id: `session_id`, `comment_id`, `user_id`, `key_id`, … */
const ID_FIELD = /(^|_)ids?$/;

/** Lower-cases, in place, every UUID among `fields`' id fields (lists of ids too). */
function canonicalizeIds(fields: unknown, names: (name: string) => boolean): void {
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) return;
  const record = fields as Record<string, unknown>;
  for (const [name, value] of Object.entries(record)) {
    if (!names(name)) continue;
    if (typeof value === 'string') record[name] = canonicalSessionId(value);
    else if (Array.isArray(value)) {
      record[name] = value.map((item: unknown) =>
        typeof item === 'string' ? canonicalSessionId(item) : item,
      );
    }
  }
}

/**
 * Ids are UUIDs (or integers), and inside the server one id has one spelling: lower case. A
 * client may send any case (iOS's `UUID.uuidString` is upper case); the database compares UUIDs
 * case-blind but bus channels, rooms, Agora channel names and every comparison in the services
 * (is this the pinned comment? this moderator?) are plain strings, so an upper-case id would
 * reach a room no viewer is in, or delete a pinned comment without unpinning it. Every id in a
 * path, a query string or a JSON body's top level (`*_id`, `*_ids`) is lower-cased here, once,
 * before validation, for every route and both sockets. Register before the routes.
 */
export function canonicalizeSessionIds(app: FastifyInstance): void {
  const isIdField = (name: string) => ID_FIELD.test(name);
  const isIdParam = (name: string) => isIdField(name) || (SESSION_PARAMS as readonly string[]).includes(name);
  app.addHook('preValidation', async (request) => {
    canonicalizeIds(request.params, isIdParam);
    canonicalizeIds(request.query, isIdField);
    canonicalizeIds(request.body, isIdField);
  });
}
