import type { FastifyRequest } from 'fastify';
import type { ExistingUsers } from '../auth/existing-users.js';
import { parseUserId } from '../auth/users.js';
import { bearerToken, TokenError, type Principal, type Tokens } from '../auth/tokens.js';
import type { UserId, UserIdType } from '../db/schema.js';
import { forbidden, unauthorized } from './errors.js';

/** The signed-in caller of a request: the token's claims and the user id in the database's type. */
export interface Caller extends Principal {
  userId: UserId;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `requireUser`/`requireVendor` hooks; null on public routes. */
    caller: Caller | null;
  }
}

/**
 * Reads the access token of a request: `Authorization: Bearer …`, the original's
 * `?authorization=Bearer%20…`, or the WebSocket endpoints' `?token=…`.
 */
export function requestToken(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const header = request.headers.authorization;
  if (header) return bearerToken(header);
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

  /** The caller named by `token`; throws 401 with the reason when there is none. */
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

  /** preHandler hook: the route needs a signed-in caller. */
  readonly requireUser = async (request: FastifyRequest): Promise<void> => {
    request.caller = await this.caller(requestToken(request));
  };

  /** preHandler hook: the route needs a signed-in vendor. */
  readonly requireVendor = async (request: FastifyRequest): Promise<void> => {
    const caller = await this.caller(requestToken(request));
    if (caller.role !== 'vendor') throw forbidden('vendor role required');
    request.caller = caller;
  };
}
