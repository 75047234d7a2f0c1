import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

/**
 * The OpenAPI document, generated from the route schemas: `/openapi.json` (the path FastAPI
 * served it at) and Swagger UI at `/docs`.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Streammeon',
        version: '1.0.0',
        description:
          'Live-streaming backend. Realtime: `/ws/live/{session_id}` (comments, counts) and ' +
          '`/ws/signal/{session_id}` (WebRTC signaling); see README.md for the protocols.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
