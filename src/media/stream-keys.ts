import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { DomainError, forbidden, invalid, notFound, unauthorized } from '../contract/errors.js';
import { isUuid } from '../contract/ids.js';
import { STREAM_KEY_PREFIX, type CreatedStreamKey, type StreamKey } from '../contract/media.js';
import type { Database, UserId } from '../db/schema.js';

/** How many keys a vendor may hold at once (revoked ones do not count). */
export const MAX_STREAM_KEYS = 20;

/** The detail of every refused key, unknown and revoked alike: the answer does not say which. */
export const INVALID_STREAM_KEY = 'Invalid or revoked stream key';

/** Longer than any key we issue (`smk_` + 43 characters); such a token is refused unread. */
const MAX_KEY_LENGTH = 128;

/** Who a valid stream key publishes as, and the title of a session it starts. */
export interface StreamKeyOwner {
  userId: UserId;
  keyId: string;
  /** The key's title, or its name when it has none. */
  title: string;
}

/** True when `token` looks like a stream key rather than a JWT (the prefix only; not checked). */
export function isStreamKey(token: string): boolean {
  return token.startsWith(STREAM_KEY_PREFIX);
}

/** Hex SHA-256 of a key: what `stream_keys.key_hash` holds. */
export function hashStreamKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const COLUMNS = ['id', 'name', 'title', 'created_at', 'last_used_at'] as const;

interface KeyRow {
  id: string;
  name: string;
  title: string | null;
  created_at: Date;
  last_used_at: Date | null;
}

function toStreamKey(row: KeyRow): StreamKey {
  return {
    id: row.id,
    name: row.name,
    title: row.title,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at ? row.last_used_at.toISOString() : null,
  };
}

/**
 * Long-lived bearer tokens for WHIP clients (OBS, GStreamer), each a vendor's. A key is shown
 * once, when created; only its SHA-256 is stored (32 random bytes need no slow hash), so a key
 * is checked with one index probe. Revoked keys stay in the table (revoked_at) for the record,
 * but are neither listed nor accepted, and revoking one again is 404 like an unknown id.
 */
export class StreamKeys {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  /** A new key for `userId`; the answer is the only place the key itself ever appears. */
  async create(
    userId: UserId,
    input: { name: string; title?: string | undefined },
  ): Promise<CreatedStreamKey> {
    const name = input.name.trim();
    if (!name) throw invalid(['body', 'name'], 'name must not be blank', 'string_too_short');
    let title: string | null = null;
    if (input.title !== undefined) {
      title = input.title.trim();
      if (!title) throw invalid(['body', 'title'], 'title must not be blank', 'string_too_short');
    }
    const key = STREAM_KEY_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.db.transaction().execute(async (trx) => {
      // The owner's row is the lock: two creates at once cannot both pass the count.
      const owner = await trx
        .selectFrom('users')
        .select('id')
        .where('id', '=', userId)
        .forUpdate()
        .executeTakeFirst();
      if (!owner) throw unauthorized('User no longer exists');
      const { count } = await trx
        .selectFrom('stream_keys')
        .select((eb) => eb.fn.countAll<string | number | bigint>().as('count'))
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(count) >= MAX_STREAM_KEYS) {
        throw new DomainError(
          'invalid',
          `you have ${MAX_STREAM_KEYS} stream keys already (the most at once); revoke one first`,
          { field: ['body', 'name'], type: 'value_error' },
        );
      }
      return trx
        .insertInto('stream_keys')
        .values({
          user_id: userId,
          name,
          title,
          key_hash: hashStreamKey(key),
          created_at: new Date(this.clock.now()),
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
    });
    return { ...toStreamKey(row), key };
  }

  /** The user's keys in force, newest first; never the keys themselves. */
  async list(userId: UserId): Promise<{ items: StreamKey[] }> {
    const rows = await this.db
      .selectFrom('stream_keys')
      .select(COLUMNS)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return { items: rows.map(toStreamKey) };
  }

  /**
   * Revokes one of the user's keys; from now on it authenticates no one. Another user's key, an
   * unknown or malformed id, and a key revoked already are all 404 `Stream key not found`.
   */
  async revoke(userId: UserId, keyId: string): Promise<void> {
    if (!isUuid(keyId)) throw notFound('Stream key not found');
    const result = await this.db
      .updateTable('stream_keys')
      .set({ revoked_at: new Date(this.clock.now()) })
      .where('id', '=', keyId.toLowerCase())
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound('Stream key not found');
  }

  /**
   * Who `key` publishes as. Unknown or revoked (or deleted with its owner): `unauthorized`
   * `Invalid or revoked stream key`; an owner who is no longer a vendor: `forbidden`. A key
   * accepted is stamped `last_used_at`, in the same statement that finds it.
   */
  async authenticate(key: string): Promise<StreamKeyOwner> {
    if (!isStreamKey(key) || key.length > MAX_KEY_LENGTH) throw unauthorized(INVALID_STREAM_KEY);
    const hash = hashStreamKey(key);
    const used = await this.db
      .updateTable('stream_keys as k')
      .from('users as u')
      .set({ last_used_at: new Date(this.clock.now()) })
      .whereRef('u.id', '=', 'k.user_id')
      .where('k.key_hash', '=', hash)
      .where('k.revoked_at', 'is', null)
      .where('u.role', '=', 'vendor')
      .returning(['k.id', 'k.user_id', 'k.name', 'k.title'])
      .executeTakeFirst();
    if (used) return { userId: used.user_id, keyId: used.id, title: used.title ?? used.name };
    // Refused: only now is it worth a second look, to say why.
    const known = await this.db
      .selectFrom('stream_keys')
      .select('id')
      .where('key_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!known) throw unauthorized(INVALID_STREAM_KEY);
    throw forbidden('vendor role required');
  }
}
