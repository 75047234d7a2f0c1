import fp from 'fastify-plugin';
import { authRoutes } from '../http/routes/auth.js';
import type { Services } from './services.js';

/** Accounts: register, log in, refresh, `GET /me`. */
export const accounts = fp<Services>(async (app, { users, tokens, routeAuth }) => {
  await app.register(authRoutes, { users, tokens, auth: routeAuth });
});
