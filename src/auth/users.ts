import type { Kysely } from 'kysely';
import { DomainError, invalid } from '../contract/errors.js';
import { isUuid } from '../contract/ids.js';
import type { Role, User } from '../contract/rest.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Database, UserId, UserIdType } from '../db/schema.js';
import { RecentReads } from '../db/recent-reads.js';
import { systemClock, type Clock } from '../clock.js';
import { USER_CHECK_MS } from './existing-users.js';
import type { Passwords } from './passwords.js';

export type { User };

/**
 * Turns the `sub` of a token (always a string) into the database's user id type, or returns
 * undefined when it cannot be one.
 */
export function parseUserId(sub: string, type: UserIdType): UserId | undefined {
  if (type === 'uuid') return isUuid(sub) ? sub.toLowerCase() : undefined;
  const n = Number(sub);
  return /^\d+$/.test(sub) && Number.isSafeInteger(n) ? n : undefined;
}

function toUser(row: { id: UserId; email: string; name: string; role: string; created_at: Date }): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role === 'vendor' ? 'vendor' : 'user',
    created_at: row.created_at.toISOString(),
  };
}

/** Registration, login and lookup of users. */
export class Users {
  /** Users found by `profile`, kept as long as their existence is believed (USER_CHECK_MS). */
  readonly #profiles: RecentReads<User | undefined>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly passwords: Passwords,
    clock: Clock = systemClock,
  ) {
    this.#profiles = new RecentReads(USER_CHECK_MS, () => clock.now());
  }

  /**
   * The signed-in user (`GET /me`): read at most once per USER_CHECK_MS. Nothing here changes a
   * user's email, name or role, and a deletion made behind the service is already believed only
   * that long (ExistingUsers), so this is no staler than the check the request passed.
   */
  profile(id: UserId): Promise<User | undefined> {
    return this.#profiles.get(
      String(id),
      () => this.findById(id),
      (user) => user !== undefined,
    );
  }

  /** Creates a user; `email_taken` (400 `Email already registered`) when taken in any letter case. */
  async register(input: { email: string; name: string; password: string; role: Role }): Promise<User> {
    const email = input.email.trim();
    const name = input.name.trim();
    // The schema counts the raw string; a name of spaces would be stored as an empty one.
    if (!name) throw invalid(['body', 'name'], 'name must not be blank', 'string_too_short');
    const passwordHash = await this.passwords.hash(input.password);
    const taken = await this.#findByEmail(email);
    if (taken) throw emailTaken();
    try {
      const row = await this.db
        .insertInto('users')
        .values({ email, name, password_hash: passwordHash, role: input.role })
        .returning(['id', 'email', 'name', 'role', 'created_at'])
        .executeTakeFirstOrThrow();
      return toUser(row);
    } catch (error) {
      // Two registrations of one email at once: the unique index decides, the loser hears why.
      if (isUniqueViolation(error)) throw emailTaken();
      throw error;
    }
  }

  /**
   * Checks an email and password; `bad_credentials` (400 `Incorrect email/password`) for either being wrong, after
   * the same hashing work, so the answer does not reveal whether the email exists. A legacy
   * bcrypt hash that verifies is replaced by an argon2id hash.
   */
  async login(emailInput: string, password: string): Promise<User> {
    const row = await this.#findByEmail(emailInput.trim());
    if (!row) {
      await this.passwords.verifyNobody(password);
      throw badCredentials();
    }
    const check = await this.passwords.verify(row.password_hash, password);
    if (!check.ok) throw badCredentials();
    if (check.needsRehash) {
      const upgraded = await this.passwords.hash(password);
      await this.db.updateTable('users').set({ password_hash: upgraded }).where('id', '=', row.id).execute();
    }
    return toUser(row);
  }

  async findById(id: UserId): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async #findByEmail(email: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role', 'created_at', 'password_hash'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
  }
}

const emailTaken = () => new DomainError('email_taken', 'Email already registered');
const badCredentials = () => new DomainError('bad_credentials', 'Incorrect email/password');
