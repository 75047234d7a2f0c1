import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';

export interface WebOptions {
  /** RTCPeerConnection iceServers handed to the pages. */
  iceServers: unknown[];
  /** The built pages; defaults to dist/web beside the compiled server. */
  root?: string;
}

/** The built web app (Vite output) at `/`, and the settings it reads at start-up. */
export const webRoutes: FastifyPluginAsync<WebOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/app-config.json',
    {
      schema: {
        tags: ['web'],
        summary: 'Settings for the web app (ICE servers for WebRTC)',
        response: { 200: Type.Object({ ice_servers: Type.Array(Type.Unknown()) }) },
      },
    },
    async () => ({ ice_servers: options.iceServers }),
  );

  const here = dirname(fileURLToPath(import.meta.url));
  // src/http → ../../dist/web when run by tsx; dist/http → ../web when compiled.
  const root =
    options.root ?? [resolve(here, '../web'), resolve(here, '../../dist/web')].find((p) => existsSync(p));
  if (!root || !existsSync(resolve(root, 'index.html'))) {
    app.log.warn('web app not built (npm run build); serving the API only');
    return;
  }
  await app.register(fastifyStatic, { root, prefix: '/', wildcard: false, index: ['index.html'] });
};
