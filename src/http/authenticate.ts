import type { FastifyRequest } from 'fastify';
import { tokenOf, type Authenticator, type Caller } from '../auth/authenticator.js';
import { forbidden, unauthorized } from '../contract/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `requireUser`/`requireVendor` hooks; null on public routes. */
    caller: Caller | null;
  }
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

  /** preHandler hook: the route needs a signed-in vendor. */
  readonly requireVendor = async (request: FastifyRequest): Promise<void> => {
    const caller = await this.auth.caller(requestToken(request));
    if (caller.role !== 'vendor') throw forbidden('vendor role required');
    request.caller = caller;
  };
}

/** The caller a `requireUser`/`requireVendor` hook put on the request. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw unauthorized();
  return request.caller;
}
