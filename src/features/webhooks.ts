import fp from 'fastify-plugin';
import type { Services } from './services.js';

/**
 * Webhooks: services record events in their own transactions (`outbox.enqueue`); the dispatcher
 * delivers them in the background, never on a request's path.
 */
export const webhooks = fp<Services>(async (app, { dispatcher }) => {
  if (!dispatcher) return;
  app.addHook('onReady', async () => dispatcher.start());
  app.addHook('preClose', async () => dispatcher.stop());
});
