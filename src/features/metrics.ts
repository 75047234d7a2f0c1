import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { metricsRoute, metricsServer } from '../http/routes/metrics.js';
import type { Services } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus metrics. */
    metrics: Services['metrics'];
    /** The METRICS_PORT listener (main.ts listens on it), when that port is configured. */
    metricsServer: FastifyInstance | undefined;
  }
}

/** Prometheus metrics: on their own port when METRICS_PORT is set, else on the public one with a token. */
export const metrics = fp<Services>(async (app, services) => {
  const { metrics, liveHub, store, backends, dispatcher, config } = services;
  metrics.readFrom({
    rooms: () => liveHub.size().rooms,
    viewers: () => liveHub.size().viewers,
    pool: () => store.pool(),
    bus: () => backends.bus.status(),
    webhooksPending: dispatcher && (() => dispatcher.pending()),
  });
  let separate: FastifyInstance | undefined;
  if (config.metrics.port !== undefined) {
    separate = await metricsServer(metrics, config.metrics.token);
    app.addHook('onClose', async () => {
      await separate?.close();
    });
  } else if (config.metrics.token) {
    await app.register(metricsRoute, { metrics, token: config.metrics.token });
  }
  app.decorate('metrics', metrics);
  app.decorate('metricsServer', separate);
});
