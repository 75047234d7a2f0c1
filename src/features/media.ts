import fp from 'fastify-plugin';
import { iceServerRoutes } from '../http/routes/ice-servers.js';
import { mediaRoutes } from '../http/routes/media.js';
import { streamKeyRoutes } from '../http/routes/stream-keys.js';
import type { Services } from './services.js';

/** Video through Janus: WHIP and WHEP, stream keys, ICE servers (TURN credentials). */
export const media = fp<Services>(async (app, services) => {
  const { config, media, sessions, streamKeys, routeAuth, clock } = services;
  app.addHook('onReady', async () => media.start());
  // Before the listener closes, which waits for requests in flight: one waiting on a Janus that
  // never answers then fails at once (503) instead of holding app.close() forever.
  app.addHook('preClose', async () => media.close());
  await app.register(streamKeyRoutes, { streamKeys, auth: routeAuth });
  const iceServers = { turn: config.media.turn, staticIceServers: config.iceServers, clock };
  await app.register(iceServerRoutes, { ...iceServers, auth: routeAuth });
  await app.register(mediaRoutes, { ...iceServers, media, sessions, streamKeys, auth: routeAuth });
});
