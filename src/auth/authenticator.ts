import { unauthorized } from '../contract/errors.js';
import type { UserId, UserIdType } from '../db/schema.js';
import type { ExistingUsers } from './existing-users.js';
import { bearerToken, TokenError, type Principal, type Tokens } from './tokens.js';
import { parseUserId } from './users.js';

/** The signed-in caller: the token's claims and the user id in the database's type. */
export interface Caller extends Principal {
  userId: UserId;
}

/** Where a request may carry its access token: a header, or the URL's query. */
export interface TokenCarrier {
  authorization?: string | undefined;
  query?: Record<string, unknown> | undefined;
}

/**
 * The access token of a request: `Authorization: Bearer …`, the original's
 * `?authorization=Bearer%20…`, or the WebSocket endpoints' `?token=…`.
 */
export function tokenOf({ authorization, query }: TokenCarrier): string | undefined {
  if (authorization) return bearerToken(authorization);
  if (typeof query?.authorization === 'string') return bearerToken(query.authorization);
  if (typeof query?.token === 'string') return bearerToken(query.token);
  return undefined;
}

/**
 * Checks bearer tokens and turns them into callers: the one authentication path of every route
 * and socket. A valid token whose user was deleted authenticates no one.
 */
export class Authenticator {
  constructor(
    private readonly tokens: Tokens,
    private readonly userIdType: UserIdType,
    private readonly users: ExistingUsers,
  ) {}

  /** The caller named by `token`; throws `unauthorized` with the reason when there is none. */
  async caller(token: string | undefined): Promise<Caller> {
    if (!token) throw unauthorized('Not authenticated');
    let principal: Principal;
    try {
      principal = await this.tokens.verify(token);
    } catch (error) {
      throw unauthorized(error instanceof TokenError ? error.message : 'Could not validate credentials');
    }
    const userId = parseUserId(principal.sub, this.userIdType);
    if (userId === undefined) throw unauthorized('Could not validate credentials');
    if (!(await this.users.exists(userId))) throw unauthorized('User no longer exists');
    return { ...principal, userId };
  }
}
