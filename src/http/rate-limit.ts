import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { RateLimitConfig, RateRule } from '../config.js';
import { windowWords } from '../limits/comment-budget.js';
import type { Limiter } from '../limits/limiter.js';
import { tooManyRequests } from './errors.js';

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
 * The HTTP rate limits: login and registration per client IP and per email, and WebSocket
 * connections per client IP (the upgrade is a GET: refused with 429 before it happens). Comments
 * are limited in RateLimitedComments, shared by REST and WebSocket.
 *
 * The routes live in their own modules; which of them are limited is this one table, attached by
 * an onRoute hook, so call before registering the routes. Over a limit: 429, `Retry-After`, and
 * `{detail}` saying when to retry.
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
        throw tooManyRequests(`${what} (at most ${rule.max} per ${windowWords(rule.windowMs)})`, verdict.ttl);
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
  const table: Record<string, { onRequest?: Check; preHandler?: Check }> = {
    'POST /auth/login': { onRequest: authPerIp, preHandler: authPerEmail },
    'POST /auth/register': { onRequest: authPerIp, preHandler: authPerEmail },
    'GET /ws/live/:session_id': { onRequest: wsPerIp },
    'GET /ws/signal/:session_id': { onRequest: wsPerIp },
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const hooks = table[`${method} ${route.url}`];
      if (!hooks) continue;
      if (hooks.onRequest)
        route.onRequest = [...asArray(route.onRequest), hooks.onRequest as onRequestAsyncHookHandler];
      if (hooks.preHandler)
        route.preHandler = [...asArray(route.preHandler), hooks.preHandler as onRequestAsyncHookHandler];
    }
  });
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
