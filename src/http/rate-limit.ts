import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { RateLimitConfig, RateRule } from '../config.js';
import { rateLimited } from '../contract/errors.js';
import type { Limiter } from '../limits/limiter.js';
import { windowWords } from '../limits/window-words.js';

/**
 * The HTTP rate limits a route may declare in its options, `config: { limits: [...] }`: the limit
 * travels with the route, so renaming or moving the route keeps it.
 * - `auth-ip`: login and registration attempts per client IP, before the body is read;
 * - `auth-email`: the same per email named in the body (hashed), once it is parsed and valid;
 * - `ws-connect-ip`: WebSocket connections per client IP, refused with 429 before the upgrade.
 */
export type RouteLimit = 'auth-ip' | 'auth-email' | 'ws-connect-ip';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The rate limits of this route (http/rate-limit.ts). */
    limits?: RouteLimit[];
  }
}

/**
 * @fastify/rate-limit's store protocol over our Limiter, so the plugin counts in the same place
 * (Redis or memory, with the Redis limiter's fallback) as the comment budget. Keys arrive fully
 * namespaced from our key generators, so a route's child store is the store itself.
 */
function storeOver(limiter: Limiter) {
  return class LimiterStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      limiter.hit(key, timeWindow).then(
        ({ count, resetMs }) => callback(null, { current: count, ttl: resetMs }),
        (error: Error) => callback(error),
      );
    }

    child(): LimiterStore {
      return this;
    }
  };
}

type Check = (request: FastifyRequest) => Promise<void>;

/**
 * Attaches the limits each route declares (`config.limits`, see RouteLimit) as it is added, so
 * call before registering the routes. Comments are limited by limits/user-budget.ts instead,
 * shared by REST and WebSocket. Over a limit: 429, `Retry-After`, and `{detail}` saying when to
 * retry.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  options: { limiter: Limiter; limits: RateLimitConfig },
): Promise<void> {
  const { limiter, limits } = options;
  if (!limits.enabled) return;
  // skipOnError: the limiter never rejects (Redis trouble falls back to memory); should that ever
  // change, an outage of the counters must not become an outage of login.
  await app.register(rateLimit, { global: false, store: storeOver(limiter), skipOnError: true });

  const check = (
    name: string,
    rule: RateRule,
    what: string,
    key: (r: FastifyRequest) => string | undefined,
  ) => {
    const counter = app.createRateLimit({
      max: rule.max,
      timeWindow: rule.windowMs,
      keyGenerator: (request) => `${name}:${key(request) ?? ''}`,
    });
    return async (request: FastifyRequest) => {
      if (key(request) === undefined) return;
      const verdict = await counter(request);
      if (!verdict.isAllowed && verdict.isExceeded) {
        throw rateLimited(`${what} (at most ${rule.max} per ${windowWords(rule.windowMs)})`, verdict.ttl);
      }
    };
  };
  const clientIp = (request: FastifyRequest) => normalizeIP(request.ip);
  // Hashed: the counters (in Redis, possibly shared) need not hold anyone's email address.
  const email = (request: FastifyRequest) => {
    const value = (request.body as { email?: unknown } | undefined)?.email;
    if (typeof value !== 'string') return undefined;
    return createHash('sha256').update(value.trim().toLowerCase()).digest('base64url');
  };

  const authPerIp = check(
    'auth-ip',
    limits.authPerIp,
    'Too many sign-in attempts from your address',
    clientIp,
  );
  const authPerEmail = check(
    'auth-email',
    limits.authPerEmail,
    'Too many sign-in attempts for this email',
    email,
  );
  const wsPerIp = check('ws-ip', limits.wsConnectsPerIp, 'Too many connections from your address', clientIp);

  // Per IP before the body is even read; per email once it is parsed and valid.
  const hooks: Record<RouteLimit, { onRequest?: Check; preHandler?: Check }> = {
    'auth-ip': { onRequest: authPerIp },
    'auth-email': { preHandler: authPerEmail },
    'ws-connect-ip': { onRequest: wsPerIp },
  };
  app.addHook('onRoute', (route) => {
    for (const name of route.config?.limits ?? []) {
      const { onRequest, preHandler } = hooks[name];
      if (onRequest) route.onRequest = [...asArray(route.onRequest), onRequest];
      if (preHandler) route.preHandler = [...asArray(route.preHandler), preHandler];
    }
  });
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
