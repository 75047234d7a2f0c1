import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { ErrorDetail } from '../../contract/rest.js';
import type { Metrics } from '../../metrics/metrics.js';
import { bearerSecurity } from '../schemas.js';

export interface MetricsRouteOptions {
  metrics: Metrics;
  /** The bearer token asked for; undefined: none asked (the separate METRICS_PORT only). */
  token: string | undefined;
}

/**
 * `GET /metrics`: the Prometheus text exposition. On the public port it answers only with
 * `Authorization: Bearer <METRICS_TOKEN>`; without a token configured there it is not
 * registered at all (404, like any unknown path).
 */
export const metricsRoute: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics, token }) => {
  const expected = token === undefined ? undefined : digest(token);
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (with METRICS_TOKEN as a bearer token)',
        description: 'Prometheus text format; docs/metrics.md lists every series.',
        security: bearerSecurity,
        response: { 401: ErrorDetail },
      },
    },
    async (request, reply) => {
      if (expected && !matches(request.headers.authorization, expected)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ detail: 'Metrics need Authorization: Bearer <METRICS_TOKEN>' });
      }
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).header('cache-control', 'no-store').send(body);
    },
  );
};

/**
 * The listener of METRICS_PORT: `/metrics` only (token optional), nothing of the API, so the
 * public port can stay free of it. main.ts listens; closing the app closes it.
 */
export async function metricsServer(metrics: Metrics, token: string | undefined): Promise<FastifyInstance> {
  const server = Fastify({ logger: false });
  server.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not Found' }));
  await server.register(metricsRoute, { metrics, token });
  return server;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares in constant time (hashes of equal length) whatever the header holds. */
function matches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1] as string), expected);
}
