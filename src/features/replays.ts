import fp from 'fastify-plugin';
import { replayRoutes } from '../http/routes/replays.js';
import { ReplayWorker } from '../replays/worker.js';
import type { Services } from './services.js';

/**
 * Replays: Janus records the sessions' rooms (the recording policy, in media/); this instance
 * processes them in the background (REPLAY_JOBS at a time) and serves them.
 */
export const replays = fp<Services>(async (app, { replays, store, config, routeAuth }) => {
  // REPLAY_JOBS defaults to 1 in SFU mode and 0 in mesh mode, which then polls for nothing.
  if (config.recordings.jobs > 0) {
    const worker = new ReplayWorker(store.db, replays, config.recordings, app.log);
    app.addHook('onReady', async () => worker.start());
    app.addHook('preClose', async () => worker.stop());
  }
  await app.register(replayRoutes, { replays, auth: routeAuth });
});
