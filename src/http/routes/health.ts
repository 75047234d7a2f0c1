import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HealthSchema } from '../../contract/rest.js';
import type { Store } from '../../db/store.js';

export interface HealthOptions {
  store: Store;
  /** The bus's own state: `memory`, `redis`, or `down` while Redis is unreachable. */
  busStatus: () => 'memory' | 'redis' | 'down';
}

/** `GET /health`: 200 while the database answers (even with Redis down: `degraded`), else 503. */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (fastify, { store, busStatus }) => {
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
      const status = db === 'down' ? 'down' : bus === 'down' ? 'degraded' : 'ok';
      return reply.code(db === 'ok' ? 200 : 503).send({ status, db, db_kind: store.kind, bus });
    },
  );
};
