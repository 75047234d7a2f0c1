import type { FastifyRequest } from 'fastify';
import { tokenOf, type Authenticator, type Caller } from '../auth/authenticator.js';
import { forbidden, unauthorized } from '../contract/errors.js';
import type { UserId } from '../db/schema.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `requireUser`/`requireVendor` hooks; null on public routes. */
    caller: Caller | null;
    /** Set by a `requirePublisher` hook (WHIP); null elsewhere. */
    publisher: Publisher | null;
  }
}

/** Who publishes video: a vendor, by access token or by one of their stream keys. */
export interface Publisher {
  userId: UserId;
  /** The stream key's title (a session a key starts gets it); undefined with an access token. */
  title: string | undefined;
}

/** The access token a request carries (header, `?authorization=` or `?token=`). */
export function requestToken(request: FastifyRequest): string | undefined {
  return tokenOf({
    authorization: request.headers.authorization,
    query: request.query as Record<string, unknown> | undefined,
  });
}

/** Route hooks that sign the caller in, or refuse the request. */
export class RouteAuth {
  constructor(private readonly auth: Authenticator) {}

  /** preHandler hook: the route needs a signed-in caller. */
  readonly requireUser = async (request: FastifyRequest): Promise<void> => {
    request.caller = await this.auth.caller(requestToken(request));
  };

  /**
   * A preHandler hook for publishing (WHIP): a token `isStreamKey` recognizes goes to
   * `streamKeyOwner`; anything else must be a vendor's access token.
   */
  requirePublisher(
    isStreamKey: (token: string) => boolean,
    streamKeyOwner: (key: string) => Promise<Publisher>,
  ): (request: FastifyRequest) => Promise<void> {
    return async (request) => {
      const token = requestToken(request);
      if (token && isStreamKey(token)) {
        request.publisher = await streamKeyOwner(token);
        return;
      }
      const caller = await this.auth.caller(token);
      if (caller.role !== 'vendor') throw forbidden('vendor role required');
      request.publisher = { userId: caller.userId, title: undefined };
    };
  }

  /** preHandler hook: the route needs a signed-in vendor. */
  readonly requireVendor = async (request: FastifyRequest): Promise<void> => {
    const caller = await this.auth.caller(requestToken(request));
    if (caller.role !== 'vendor') throw forbidden('vendor role required');
    request.caller = caller;
  };
}

/** The publisher a `requirePublisher` hook put on the request. */
export function publisherOf(request: FastifyRequest): Publisher {
  if (!request.publisher) throw unauthorized();
  return request.publisher;
}

/** The caller a `requireUser`/`requireVendor` hook put on the request. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw unauthorized();
  return request.caller;
}

/** The signed-in caller as the live services' `Actor` (who acts on a chat or a poll). */
export function actorOf(request: FastifyRequest): { id: UserId; role: string } {
  const caller = callerOf(request);
  return { id: caller.userId, role: caller.role };
}
