import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { accounts } from './features/accounts.js';
import { agora } from './features/agora.js';
import { ingest } from './features/ingest.js';
import { live } from './features/live.js';
import { media } from './features/media.js';
import { metrics } from './features/metrics.js';
import { platform } from './features/platform.js';
import { polls } from './features/polls.js';
import { replays } from './features/replays.js';
import { buildServices, type AppDeps } from './features/services.js';
import { webhooks } from './features/webhooks.js';
import { web } from './features/web.js';
import { clientErrorHandler, frameworkErrors } from './http/errors.js';
import { loggerOptions, prettyLogs } from './http/log-redaction.js';
import { createValidatorCompiler } from './http/validation.js';
import type { Media } from './media/media.js';
import type { LiveHub } from './realtime/live-hub.js';
import type { Heartbeat } from './realtime/peer.js';
import type { SignalHub } from './realtime/signal-hub.js';

export type { AppDeps } from './features/services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The realtime hubs, for tests and benchmarks that inspect them. */
    realtime: { liveHub: LiveHub; signalHub: SignalHub; heartbeat: Heartbeat };
    /** Video through Janus (SFU mode) or none (mesh), for tests that look inside. */
    media: Media;
  }
}

/**
 * Builds a fully wired app without listening: the service graph (features/services.ts), then
 * each feature as a plugin that registers its routes and owns its hooks. The order below is the
 * order of their hooks: at close, new requests are refused first, then the replay jobs stop,
 * Janus's connections close (a request waiting on Janus fails at once), the WebSockets hear
 * 1012, webhook deliveries stop, and last the services close (Redis, the database).
 * Everything is closed by `app.close()` (a passed-in store stays open: its owner closes it).
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // No credential (a token in a query string or header, a password in a URL) reaches the logs.
    logger: loggerOptions(config.logLevel, prettyLogs(config.env, process.stdout.isTTY)),
    trustProxy: config.trustProxy,
    // Deep or huge JSON from a client is refused before it costs anything.
    bodyLimit: 256 * 1024,
    // Every error is {detail}: those raised before routing, those of Node's HTTP parser, and
    // the 503 while shutting down (features/platform.ts).
    frameworkErrors,
    clientErrorHandler,
    return503OnClosing: false,
  });
  app.setValidatorCompiler(createValidatorCompiler());
  app.decorateRequest('caller', null);
  app.decorateRequest('publisher', null);
  const services = await buildServices(config, app.log, deps);
  app.addHook('onClose', () => services.close());

  await app.register(platform, services);
  await app.register(replays, services);
  await app.register(ingest, services);
  await app.register(media, services);
  await app.register(live, services);
  await app.register(polls, services);
  await app.register(accounts, services);
  await app.register(webhooks, services);
  await app.register(agora, services);
  await app.register(web, services);
  await app.register(metrics, services);

  const { liveHub, signalHub, heartbeat } = services;
  app.decorate('realtime', { liveHub, signalHub, heartbeat });
  app.decorate('media', services.media);
  return app;
}
