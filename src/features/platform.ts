import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import { canonicalizeSessionIds } from '../http/canonical-ids.js';
import { installErrorHandler, refuseWhileClosing } from '../http/errors.js';
import { lingerAfterRefusedBodies } from '../http/lingering-close.js';
import { registerOpenApi } from '../http/openapi.js';
import { registerRateLimits } from '../http/rate-limit.js';
import { recordRequestMetrics } from '../http/request-metrics.js';
import { healthRoutes } from '../http/routes/health.js';
import { registerSecurityHeaders } from '../http/security.js';
import type { Services } from './services.js';

/**
 * What every route shares, registered before any of them: errors as `{detail}`, the 503 while
 * closing, canonical session ids, CORS, security headers, rate limits, request metrics, the
 * OpenAPI document, and `GET /health`.
 */
export const platform = fp<Services>(async (app, services) => {
  const { config, limiter, metrics, store, backends, media } = services;
  recordRequestMetrics(app, metrics);
  installErrorHandler(app);
  lingerAfterRefusedBodies(app);
  // From the moment app.close() starts, new requests hear 503 {detail} (Fastify's own is off).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook(
    'onRequest',
    refuseWhileClosing(() => closing),
  );
  canonicalizeSessionIds(app);
  await app.register(cors, {
    origin: config.corsOrigins === '*' ? true : config.corsOrigins,
    credentials: config.corsOrigins !== '*',
    // Pages hosted on another origin read when to retry (slow mode, budgets) and the lobby's tag;
    // browser WHIP/WHEP clients read the resource, its tag and the ICE servers.
    exposedHeaders: ['retry-after', 'etag', 'location', 'link', 'accept-patch'],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });
  // Before the routes: both attach to them as they are added.
  registerSecurityHeaders(app, { cspConnectSrc: config.cspConnectSrc });
  await registerRateLimits(app, { limiter, limits: config.rateLimits });
  await registerOpenApi(app);
  await app.register(healthRoutes, {
    store,
    busStatus: () => backends.bus.status(),
    media: () => media.health(),
  });
});
