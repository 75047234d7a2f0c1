import fp from 'fastify-plugin';
import { agoraRoutes } from '../http/routes/agora.js';
import type { Services } from './services.js';

/** Agora RTC/RTM tokens for the sessions (the mute/volume demo). */
export const agora = fp<Services>(async (app, { config, routeAuth, sessions }) => {
  await app.register(agoraRoutes, { agora: config.agora, auth: routeAuth, sessions });
});
