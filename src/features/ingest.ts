import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { thumbnailRoutes } from '../http/routes/thumbnails.js';
import { Ingests, wrongApplication } from '../ingest/ingests.js';
import { IngestPipeline } from '../media/ingest-pipeline.js';
import { FLV_HEADER, RtmpListener, type RtmpPublishHandler } from '../ingest/rtmp-listener.js';
import type { Services } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Encoders over RTMP: the port bound once ready (RTMP_PORT=0 picks one), for tests. */
    ingest: { ingests: Ingests | undefined; rtmpPort: number | undefined };
  }
}

/**
 * Encoders that speak RTMP(S) instead of WHIP (OBS's defaults, hardware encoders, phone apps),
 * when RTMP_PORT is set, and every session's thumbnail (GET /live/sessions/{id}/thumbnail).
 */
export const ingest = fp<Services>(async (app, services) => {
  const { config, media, sessions, streamKeys, thumbnails, metrics, routeAuth } = services;
  await app.register(thumbnailRoutes, { thumbnails, sessions, auth: routeAuth });
  const settings = config.media.ingest;
  const state: FastifyInstance['ingest'] = { ingests: undefined, rtmpPort: undefined };
  app.decorate('ingest', state);
  const rtmpPort = settings.rtmpPort;
  if (rtmpPort === undefined) return;
  const ingests = new Ingests({
    ...{ streamKeys, sessions, media, thumbnails, log: app.log },
    pipelines: (plan, format, onThumbnail) => new IngestPipeline(settings, plan, format, onThumbnail),
    streams: metrics.ingestStreams,
  });
  state.ingests = ingests;
  const listener = new RtmpListener(rtmpPublishHandler(ingests), app.log, settings.rtmpTls);
  app.addHook('onReady', async () => {
    state.rtmpPort = await listener.listen(rtmpPort, config.host);
    app.log.info(`RTMP${settings.rtmpTls ? 'S' : ''} ingest on port ${state.rtmpPort}`);
  });
  // Before Janus's connections close (features/media.ts): each ingest stops its publisher first.
  app.addHook('preClose', async () => {
    await listener.close();
    await ingests.close();
  });
});

/** `rtmp://host:port/live/<stream key>`: the RTMP application is `live`, the stream name the key. */
function rtmpPublishHandler(ingests: Ingests): RtmpPublishHandler {
  return async ({ app, key }, connection) => {
    if (app !== 'live') throw wrongApplication('rtmp://<host>:<port>/live');
    const ingest = await ingests.accept(key, {
      protocol: 'rtmp',
      remote: connection.remote,
      format: 'flv',
      close: () => connection.close(),
    });
    ingest.write(FLV_HEADER);
    return {
      packet: (tag, facts) => ingest.write(tag, facts),
      closed: (reason, failed) => void ingest.stop(reason, failed),
    };
  };
}
