import fp from 'fastify-plugin';
import { pollRoutes } from '../http/routes/polls.js';
import { PollDeadlines } from '../live/poll-deadlines.js';
import type { Services } from './services.js';

/**
 * Polls: their routes, and their deadlines on the job queue (every instance closes polls whose
 * time came, whichever instance opened them).
 */
export const polls = fp<Services>(async (app, { polls, store, clock, routeAuth }) => {
  const deadlines = new PollDeadlines(store.db, polls, clock, app.log);
  polls.onOpened((poll) => deadlines.opened(poll));
  app.addHook('onReady', async () => deadlines.start());
  app.addHook('preClose', async () => deadlines.stop());
  await app.register(pollRoutes, { polls, auth: routeAuth });
});
