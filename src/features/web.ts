import fp from 'fastify-plugin';
import { webRoutes } from '../http/routes/web.js';
import type { Services } from './services.js';

/** The web app (built by Vite) and the configuration it reads at start. */
export const web = fp<Services>(async (app, { config, media }) => {
  await app.register(webRoutes, {
    iceServers: config.iceServers,
    media: media.mode,
    turn: config.media.turn !== undefined,
  });
});
