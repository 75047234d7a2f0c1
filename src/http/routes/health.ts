import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { MediaHealth } from '../../contract/media.js';
import { HealthSchema } from '../../contract/rest.js';
import type { Store } from '../../db/store.js';

export interface HealthOptions {
  store: Store;
  /** The bus's own state: `memory`, `redis`, or `down` while Redis is unreachable. */
  busStatus: () => 'memory' | 'redis' | 'down';
  /** The media mode and each Janus server's reachability. */
  media: () => Promise<MediaHealth>;
}

/**
 * `GET /health`: 200 while the database answers (even with Redis or a Janus server down:
 * `degraded`), else 503.
 */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (
  fastify,
  { store, busStatus, media },
) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness and dependencies',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const db = await Promise.race([
        store.ping().then(
          () => 'ok' as const,
          () => 'down' as const,
        ),
        new Promise<'down'>((resolve) => setTimeout(resolve, 3_000, 'down').unref()),
      ]);
      const bus = busStatus();
      const mediaHealth = await media();
      const mediaDown = mediaHealth.servers.some((server) => !server.reachable);
      const status = db === 'down' ? 'down' : bus === 'down' || mediaDown ? 'degraded' : 'ok';
      return reply
        .code(db === 'ok' ? 200 : 503)
        .send({ status, db, db_kind: store.kind, bus, media: mediaHealth });
    },
  );
};
